"""Compiled indexes of the bank: sorted digests and the PDQ multi-index; memory-mapped."""
