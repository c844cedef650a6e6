"""The solbot web API (FastAPI): wallet sign-in, read endpoints and the WebSocket bridge."""
