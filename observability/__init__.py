"""Logs and metrics conventions shared by every process of the system."""
