"""Admin function: /v1/api-keys (create, list, read, revoke API keys; scope `admin`)."""

from chatbridge.edge.app import build_app, lambda_handler_for
from chatbridge.routes.api_keys import router

app = build_app([router])
lambda_handler = lambda_handler_for(app)
