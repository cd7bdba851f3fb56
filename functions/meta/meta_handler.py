"""Meta function: /v1/health, /v1/openapi.json and /v1/docs.

It includes every router so the OpenAPI document covers every route; API Gateway only sends it
the three meta routes.
"""

from chatbridge.api import build_app, lambda_handler_for
from chatbridge.models.registrations import REGISTRATION_PROVIDERS
from chatbridge.routes import meta, registrations

app = build_app([registrations.router], provider_tags=REGISTRATION_PROVIDERS)
meta.install(app)
lambda_handler = lambda_handler_for(app)
