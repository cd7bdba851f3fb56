"""HttpApi Lambda authorizer (payload 2.0, simple responses) for the `x-api-key` header.

A known, active key is authorized with its id, name, scopes, provider limits and expiry in the
context; the edge (chatbridge.edge.app, chatbridge.access) checks the route's scope against them.

An unknown, revoked or expired key is denied here, so it costs no backend invocation: API Gateway
answers `403 {"message":"Forbidden"}` itself (HttpApi lets no authorizer shape that answer, so the
contract's 401 problem body would need the backend; we chose the cheaper answer). A missing header
never gets here: API Gateway answers 401. A store failure raises: API Gateway answers 500 and,
unlike a denial, does not cache it, so a DynamoDB blip does not lock a valid key out.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from chatbridge.access import authorizer_context
from chatbridge.logic.api_keys import authenticate
from chatbridge.observability import logger


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    try:
        grant = authenticate(headers.get("x-api-key"))
    except Exception:
        logger.exception("API key lookup failed")
        raise
    if grant is None:
        # never the key itself, nor any part of it
        logger.info("API key refused: unknown, revoked or expired")
        return {"isAuthorized": False}
    return {
        "isAuthorized": True,
        "context": authorizer_context(
            grant.key_id, grant.name, sorted(grant.scopes), sorted(grant.providers), grant.expires_at
        ),
    }
