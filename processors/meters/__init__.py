"""Meters capability of the processors."""
