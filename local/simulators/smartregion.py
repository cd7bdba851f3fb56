"""SmartRegion registration API simulator, faithful to SmartRegion's registration API document.

The document defines one call, `POST /registration` with `Content-Type: application/json` and the
project's access token in `X-API-KEY`, and only status codes: 201 registered, 200 registration
updated, 404 channel or project not found, 403 authorization error, 400 missing or wrong required
parameter. Bodies answered here are small JSON objects of our own; clients must rely on the codes.

Checks run in the order a gateway in front of the provider would apply them: route, token,
media type, JSON, fields, then project and channel. Tokens are project-scoped (SmartRegion's public API notes),
so a known token used for another known project is a 403, while an unknown project is a 404.

Tests drive failures through Python methods (`fail_next`, `delay_next`), not through HTTP.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypedDict

from local.ports import LOOPBACK
from local.retention import keep_recent
from local.simulators.serving import Answer, RecordedRequest, Refusal, Simulator, media_type, run_standalone

log = logging.getLogger(__name__)

REGISTRATION_PATH = "/registration"
REQUIRED_FIELDS = ("channel_id", "project_id", "user_id", "payload")

DEMO_PROJECT = "demo-project"
DEMO_CHANNEL = "demo-channel"
DEMO_API_KEY = "sr-demo-key"


class ProjectConfig(TypedDict):
    api_key: str
    channels: list[str]


@dataclass
class RegisteredUser:
    payload: str
    user_field: dict[str, Any] = field(default_factory=dict)
    updates: int = 0


def _refused(status: int, error: str) -> Refusal:
    return Refusal(Answer(status, {"error": error}))


UserKey = tuple[str, str, str]  # (project_id, channel_id, user_id)


class SmartRegionSimulator(Simulator):
    """A real HTTP server on 127.0.0.1 that behaves like SmartRegion's registration API."""

    name = "smartregion"
    routes = {REGISTRATION_PATH: frozenset({"POST"})}

    def __init__(self, projects: dict[str, ProjectConfig], host: str = LOOPBACK, port: int = 0) -> None:
        super().__init__(host, port)
        self.projects = projects
        self.users: dict[UserKey, RegisteredUser] = {}
        # The channel's WebHook: where presence events go (the local stack points it at the API).
        self.webhook_url: str | None = None
        self.webhook_deliveries: list[tuple[dict[str, Any], int]] = []

    def reset(self) -> None:
        """Forget users, recorded requests and pending controls; projects stay."""
        super().reset()
        with self._lock:
            self.users.clear()
            self.webhook_deliveries.clear()

    # -- presence webhooks -----------------------------------------------------------------------

    def report_presence(
        self,
        user_id: str,
        event: str = "connection",
        *,
        at: datetime | None = None,
        url: str | None = None,
        attempts: int = 3,
    ) -> int:
        """POST a presence event about a registered user to the WebHook; the final HTTP status.

        The document says only that events (detection, connection, disconnection of registered users)
        are POSTed as JSON; this body is our assumption: `event`, `user_id`, `channel_id`,
        `project_id` and `time`, no event id (so the receiver dedupes on the body's hash). Delivery is
        retried on 5xx and connection errors, as webhook senders do.
        """
        target = url or self.webhook_url
        if not target:
            raise RuntimeError("no webhook_url is configured")
        with self._lock:
            registered = [key for key in self.users if key[2] == user_id]
        if not registered:
            raise LookupError(f"{user_id} is not registered: SmartRegion reports only registered users")
        project_id, channel_id, _ = registered[0]
        body = {
            "event": event,
            "user_id": user_id,
            "channel_id": channel_id,
            "project_id": project_id,
            "time": (at or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
        }
        status = _post_json(target, body, attempts)
        with self._lock:
            self.webhook_deliveries.append((body, status))
            keep_recent(self.webhook_deliveries)
        return status

    # -- protocol ------------------------------------------------------------------------------

    def answer(self, request: RecordedRequest, raw_body: bytes) -> Answer:
        token_project = self._project_of_token(request.headers.get("x-api-key"))
        if media_type(request.headers) != "application/json":
            raise _refused(400, "Content-Type must be application/json")
        body = _parse_registration(raw_body)
        project_id, channel_id = body["project_id"], body["channel_id"]
        project = self.projects.get(project_id)
        if project is None:
            raise _refused(404, "project not found")
        if token_project != project_id:
            raise _refused(403, "access token is not valid for this project")
        if channel_id not in project["channels"]:
            raise _refused(404, "channel not found")
        return self._upsert((project_id, channel_id, body["user_id"]), body)

    def _project_of_token(self, token: str | None) -> str:
        for project_id, project in self.projects.items():
            if token and token == project["api_key"]:
                return project_id
        raise _refused(403, "authorization error")

    def _upsert(self, key: UserKey, body: dict[str, Any]) -> Answer:
        with self._lock:
            user = self.users.get(key)
            if user is None:
                self.users[key] = RegisteredUser(payload=body["payload"], user_field=body.get("user_field") or {})
                return Answer(201, {"status": "created"})
            user.payload = body["payload"]
            if "user_field" in body:
                user.user_field = body["user_field"]
            user.updates += 1
            return Answer(200, {"status": "updated"})


def _post_json(url: str, body: dict[str, Any], attempts: int) -> int:
    payload = json.dumps(body).encode("utf-8")
    status = 0
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(url, data=payload, method="POST", headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as refused:
            status = refused.code
            if status < 500:
                return status
        except OSError as exc:
            log.warning("smartregion-sim webhook delivery failed (%s)", exc)
        time.sleep(0.2 * attempt)
    return status


def _parse_registration(raw_body: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw_body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _refused(400, "body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise _refused(400, "body must be a JSON object")
    for name in REQUIRED_FIELDS:
        value = body.get(name)
        if value is None:
            raise _refused(400, f"{name} is required")
        if not isinstance(value, str) or not value.strip():
            raise _refused(400, f"{name} must be a non-empty string")
    if "user_field" in body and not isinstance(body["user_field"], dict):
        raise _refused(400, "user_field must be an object")
    return body


def demo_projects() -> dict[str, ProjectConfig]:
    return {DEMO_PROJECT: {"api_key": DEMO_API_KEY, "channels": [DEMO_CHANNEL]}}


def main(argv: list[str] | None = None) -> None:
    run_standalone(
        "SmartRegion registration API simulator (demo project)",
        lambda args: SmartRegionSimulator(demo_projects(), host=args.host, port=args.port),
        lambda simulator: [
            f"SmartRegion simulator on {simulator.url}",
            f"  project_id={DEMO_PROJECT} channel_id={DEMO_CHANNEL} X-API-KEY={DEMO_API_KEY}",
            f"  POST {simulator.url}{REGISTRATION_PATH}   (Ctrl-C stops)",
        ],
        argv,
    )


if __name__ == "__main__":
    main()
