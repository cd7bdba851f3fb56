"""`/v1/api-keys`: create, list, read and revoke API keys (scope `admin`).

The same operations as `make api-key`, `make api-keys` and `make api-key-revoke`. A created key is
in the 201 answer only. POST takes no Idempotency-Key on purpose: a replay would have to keep the
key in the idempotency record; a retried creation makes a second key, which a revocation removes.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from chatbridge.access import grant_of
from chatbridge.edge.openapi import problems, success
from chatbridge.logic import api_keys as logic
from chatbridge.models.api_keys import ApiKey, ApiKeyPage, CreateApiKeyRequest, IssuedApiKey

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]

TAGS = ["api-keys"]
KeyId = Annotated[str, Path(pattern=r"^[0-9a-f]{12}$", description="The key's id (as listed), not the key")]


@router.post(
    "/v1/api-keys",
    summary="Create an API key (shown in this answer only)",
    tags=TAGS,
    responses={**success(IssuedApiKey, "Created; `key` is not shown again", status=201), **problems(400, 401, 422)},
)
def create_api_key(request: Annotated[CreateApiKeyRequest, Body()]) -> Response[IssuedApiKey]:
    grant = grant_of(router.current_event.raw_event)
    issued = logic.issue_api_key(
        request.name,
        scopes=request.scopes,
        providers=request.providers,
        expires_at=request.expires_at,
        created_by=grant.key_id if grant else None,
    )
    return Response(
        status_code=201,
        content_type="application/json",
        body=issued,
        headers={"Location": f"/v1/api-keys/{issued.id}", "Cache-Control": "no-store"},
    )


@router.get(
    "/v1/api-keys",
    summary="List API keys (never the keys themselves)",
    tags=TAGS,
    responses={**success(ApiKeyPage, "One page of keys, revoked and expired ones included"), **problems(400, 401, 422)},
)
def list_api_keys(
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> ApiKeyPage:
    return logic.list_api_keys(limit, next_token)


@router.get(
    "/v1/api-keys/<id>",
    summary="Read an API key's name, scopes, limits and status",
    tags=TAGS,
    responses={**success(ApiKey, "The key"), **problems(401, 404, 422)},
)
def get_api_key(id: KeyId) -> ApiKey:  # noqa: A002 - the public route says {id}
    return logic.get_api_key(id)


@router.delete(
    "/v1/api-keys/<id>",
    summary="Revoke an API key",
    description=f"Refused by the API within {logic.REVOCATION_BOUND_SECONDS} s (the authorizer's cache). "
    "Revoking again changes nothing.",
    tags=TAGS,
    responses={**success(ApiKey, "Revoked"), **problems(401, 404, 422)},
)
def revoke_api_key(id: KeyId) -> ApiKey:  # noqa: A002
    return logic.revoke_api_key(id)
