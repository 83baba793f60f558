"""Identifying content: one-pass multi-hashing, PDQ, vPDQ, and parsing of P2P identifiers."""
