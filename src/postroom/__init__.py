"""Postroom: mail and client communication for business software."""

__version__ = "0.1.0"
