"""EventsRedrive function: POST /v1/admin/events/redrive, the events processor's dead-letter queue
re-processed (the same redrive as `make redrive-events`)."""

from chatbridge.edge.app import build_app, lambda_handler_for
from chatbridge.routes.redrive import router

app = build_app([router])
lambda_handler = lambda_handler_for(app)
