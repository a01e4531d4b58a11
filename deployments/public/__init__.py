"""The public reporting page (网络举报): its own small app and port, no login, nothing of Prefect
behind it; the public reports a problem about a unit in its stationing period and may later ask,
with the query code shown once, whether the report was received and handled."""
