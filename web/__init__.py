"""Operator-facing web: Faust status views on every worker (and, later, the FastAPI dashboard)."""
