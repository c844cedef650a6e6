"""Jupiter: the v6 route events, the Swap and Price APIs (quotes), and the swap venue."""
