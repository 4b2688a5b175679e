"""File import tasks."""
