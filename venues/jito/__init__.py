"""Jito: the block-engine relay that lands other venues' transactions as atomic bundles, and its tip."""
