"""The front door: the address staff open. Login (password, second factor), then every request
is forwarded to the Prefect server on loopback, HTTP and websockets alike, with the person's
role checked on every call that changes something (policy.py)."""
