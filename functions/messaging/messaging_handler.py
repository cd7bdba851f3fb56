"""Messaging function: messages, broadcasts, conversations, chat tokens, templates and agents."""

from chatbridge.edge.app import build_app, lambda_handler_for
from chatbridge.models.requests import MESSAGING_BODY_TAGS
from chatbridge.routes.messaging import router

app = build_app([router], provider_tags=MESSAGING_BODY_TAGS)
lambda_handler = lambda_handler_for(app)
