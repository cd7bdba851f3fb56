"""Webhooks function: subscriptions (/v1/webhooks...), the event-type catalogue, replay and recovery.
It stores subscriptions and queues deliveries; it never calls a bot (the WebhookDelivery function does)."""

from chatbridge.edge.app import build_app, lambda_handler_for
from chatbridge.routes.webhooks import router

app = build_app([router])
lambda_handler = lambda_handler_for(app)
