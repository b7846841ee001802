"""One module per peer; each maps the peer's errors to ours."""
