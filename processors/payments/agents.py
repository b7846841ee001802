"""Faust agents of the payments capability (topic -> service)."""
