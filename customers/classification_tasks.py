"""Reclassification tasks (tiering)."""
