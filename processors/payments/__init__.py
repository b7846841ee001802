"""Payments capability of the processors."""
