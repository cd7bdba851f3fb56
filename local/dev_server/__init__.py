"""API Gateway (HttpApi, payload 2.0) emulation that runs the real handlers in-process.

Routes, the Lambda authorizer, its cache TTL, timeouts and memory sizes all come from template.yaml
(through local.template), so what is served here is what `sam deploy` would wire. The answers that
API Gateway itself produces are reproduced: 404 {"message":"Not Found"} for an unknown route when
the template has no `$default` route (with one, as ours has, that route receives the request),
401 {"message":"Unauthorized"} when the identity source (x-api-key) is missing, 403 {"message":
"Forbidden"} when the authorizer says no, 500 {"message":"Internal Server Error"} when the
authorizer fails, or a function raises or returns something API Gateway cannot read.

The process environment (TABLE_NAME, AWS_ENDPOINT_URL_*, ...) must be set before start(): it
imports the handler modules, and they read it at import. `python -m local.dev` does all of that;
`python -m local.dev_server` serves with the environment as it is.

- `messages`: HttpRequest, HttpResponse and the answers API Gateway gives itself;
- `routes`: the route table and its matching;
- `events`: the payload-2.0 events for a function and for the authorizer (`api_event` for tests);
- `emulation`: the Gateway (authorizer and its cache, invocation, response translation);
- `server`: the HTTP server and DevServer;  `cli`: `main`.
Running a handler in this process (import paths, the Lambda context, one invocation at a time)
lives in local.lambda_runtime, shared with the events pipeline.
"""

from local.dev_server.cli import configured_port, main
from local.dev_server.emulation import Gateway
from local.dev_server.messages import HttpRequest, HttpResponse
from local.dev_server.server import DevServer

__all__ = ["DevServer", "Gateway", "HttpRequest", "HttpResponse", "configured_port", "main"]
