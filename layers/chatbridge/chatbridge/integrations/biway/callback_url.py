"""Registering our callback URL with Bi-way (`POST /system/callback`).

Bi-way posts state changes and message reports to the URL a partner or user account registered.
Ours carries the webhook token of `chatbridge/callbacks` (`<api>/v1/callbacks/biway/<token>`), and
the token is also sent in the body's `token` field. Run once per Bi-way connection after a deploy:
`python -m tools.biway_callback --api-url <ApiUrl>`.
"""

from __future__ import annotations

from chatbridge.integrations.biway.client import BiwayAnswer, BiwayCallbackPayload, BiwayClient, BiwayConnection

CALLBACK_ROUTE = "/v1/callbacks/biway/{token}"


def callback_url(api_url: str, token: str) -> str:
    return api_url.rstrip("/") + CALLBACK_ROUTE.format(token=token)


def register_callback_url(connection: BiwayConnection, api_url: str, token: str) -> BiwayAnswer:
    payload = BiwayCallbackPayload(url=callback_url(api_url, token), token=token)
    return BiwayClient(connection).register_callback(payload)
