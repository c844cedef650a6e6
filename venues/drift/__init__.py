"""Drift v2 perps: DLOB books, funding and positions, and perp order instructions (no spot swap)."""
