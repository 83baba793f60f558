"""Icarus: coordinated operations against CSAM sharing on file-sharing networks."""

__version__ = "0.1.0"
