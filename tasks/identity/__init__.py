"""Who is at the door: passwords, the second factor, lock-out, login sessions and gate receipts.
Plain keyword-only domain functions; the gateway (deployments/gateway) and the CLI call them."""
