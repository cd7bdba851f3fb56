"""Callbacks function: POST /v1/callbacks/{provider}/{token} (public) and GET /v1/events."""

from chatbridge.edge.app import build_app, lambda_handler_for
from chatbridge.routes import callbacks, events

app = build_app([callbacks.router, events.router])
lambda_handler = lambda_handler_for(app)
