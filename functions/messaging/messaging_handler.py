"""Messaging function: messages, broadcasts, conversations, chat tokens, templates and agents."""

from chatbridge.edge.app import build_app, lambda_handler_for
from chatbridge.models.messaging import ALL_MESSAGING_PROVIDERS
from chatbridge.routes.messaging import router

app = build_app([router], provider_tags=ALL_MESSAGING_PROVIDERS)
lambda_handler = lambda_handler_for(app)
