"""Kafka plumbing shared by the ingress and the processors: topic names,
headers and the request/reply conventions of the contract."""
