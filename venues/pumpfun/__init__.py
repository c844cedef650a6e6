"""Pump.fun bonding curves: events, the curve account, and the legacy buy / sell venue."""
