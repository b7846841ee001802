"""Operator tools: `python -m ops --help` (dead letters, a payment's or order's story,
reconciliation with the payments service)."""
