"""Foundations: errors, settings, logging and metrics. Nothing here imports any other solbot package."""
