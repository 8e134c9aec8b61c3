"""Notebook runs: the workshop's notebooks through papermill against the stand-in."""
