"""Fake peers of the system (payments service, Monitex, order-core, ...) and a control API."""
