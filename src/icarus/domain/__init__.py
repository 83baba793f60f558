"""Frozen, typed value objects shared by every layer. No I/O here."""
