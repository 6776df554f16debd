"""The web app (`ragcode serve`): FastAPI routers, the WebSocket chat and the static client."""
