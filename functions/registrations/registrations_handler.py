"""Registrations function: POST /v1/registrations, GET /v1/registrations[/{id}]."""

from chatbridge.edge.app import build_app, lambda_handler_for
from chatbridge.models.requests import REGISTRATION_BODY_TAGS
from chatbridge.routes.registrations import router

app = build_app([router], provider_tags=REGISTRATION_BODY_TAGS)
lambda_handler = lambda_handler_for(app)
