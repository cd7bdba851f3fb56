"""Meta function: /v1/health, /v1/openapi.json and /v1/docs.

The OpenAPI document covers every route, so it is rendered from a resolver holding every router;
that resolver is built on the first document request, keeping health checks and cold starts light.
"""

from functools import cache

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from chatbridge.edge.app import build_app, lambda_handler_for
from chatbridge.routes import meta


@cache
def every_route() -> APIGatewayHttpResolver:
    from chatbridge.models.requests import MESSAGING_BODY_TAGS, REGISTRATION_BODY_TAGS
    from chatbridge.routes import api_keys, callbacks, contacts, events, messaging, redrive, registrations, webhooks

    described = build_app(
        [
            registrations.router,
            callbacks.router,
            events.router,
            messaging.router,
            contacts.router,
            api_keys.router,
            webhooks.router,
            redrive.router,
        ],
        provider_tags=(*REGISTRATION_BODY_TAGS, *MESSAGING_BODY_TAGS),
    )
    meta.install(described, every_route)
    return described


app = build_app([])
meta.install(app, every_route)
lambda_handler = lambda_handler_for(app)
