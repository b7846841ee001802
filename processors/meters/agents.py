"""Faust agents of the meters capability (topic -> service)."""
