"""Registers every agent of the pipeline with the app, in data-flow order."""

from agents import execution, features, launches, model, risk
from web import metrics, status

__all__ = ["execution", "features", "launches", "metrics", "model", "risk", "status"]
