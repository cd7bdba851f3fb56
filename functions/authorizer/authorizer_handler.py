"""HttpApi Lambda authorizer (payload 2.0, simple responses) for the `x-api-key` header.

An unknown key is not denied here: API Gateway would answer a bare 403. The request goes on marked
`authenticated: false`, and the shared resolver answers the contract's 401 problem without running
any route (see chatbridge.edge.app). A missing header never gets here: API Gateway answers 401 itself.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from chatbridge.logic.api_keys import authenticate
from chatbridge.observability import logger


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    try:
        caller = authenticate(headers.get("x-api-key"))
    except Exception:
        # A store outage must not open the API; the route answers 401 and the client retries.
        logger.exception("API key lookup failed")
        caller = None
    if caller is None:
        logger.info("request with an unknown API key")
        return {"isAuthorized": True, "context": {"authenticated": False}}
    return {
        "isAuthorized": True,
        "context": {"authenticated": True, "key_id": caller.key_id, "key_name": caller.name},
    }
