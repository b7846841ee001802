"""Faust processors: the business logic behind the ingress (payments, meters, probe)."""
