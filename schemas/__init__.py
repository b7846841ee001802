"""Pydantic models of every Kafka message and HTTP body; no logic, no I/O."""
