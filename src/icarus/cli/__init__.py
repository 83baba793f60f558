"""The ``icarus`` command: one module per command group."""
