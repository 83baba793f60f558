"""Synthetic data: generated pictures and files now; the synthetic operation world later."""
