"""Registers every agent of the pipeline with the app, in data-flow order."""

from agents import execution, features, launches, model, risk
from web import status

__all__ = ["execution", "features", "launches", "model", "risk", "status"]
