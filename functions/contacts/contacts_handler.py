"""Contacts function (Watbot): GET /v1/contacts, a contact's tags and variables."""

from chatbridge.edge.app import build_app, lambda_handler_for
from chatbridge.routes.contacts import router

app = build_app([router])
lambda_handler = lambda_handler_for(app)
