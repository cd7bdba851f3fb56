"""SmartRegion presence webhooks (detection, connection, disconnection of a registered user).

SmartRegion does not publish the body of its event webhook, so fields are looked up by their
usual names at any depth, and a new event name is one entry in `PRESENCE_STATES`. Events name the
user by our `user_id` (unique per channel), so an event applies to that user's registrations in
the channel and project it names, or in all of them when it names none.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from chatbridge.integrations.interface import EventTypeInfo, Webhooks
from chatbridge.integrations.webhook_fields import (
    EVENT_ID_FIELDS,
    EVENT_TYPE_FIELDS,
    MAX_EVENT_ID_LENGTH,
    TIME_FIELDS,
    EventFacts,
    first_value,
    identifier,
    parse_time,
    text,
)

if TYPE_CHECKING:
    from chatbridge.store import RegistrationStore
    from chatbridge.store.items import EventItem, RegistrationItem

PROVIDER = "smartregion"
PRESENCE_STATES = {
    "detection": "detected",
    "detected": "detected",
    "detect": "detected",
    "connection": "connected",
    "connected": "connected",
    "connect": "connected",
    "disconnection": "disconnected",
    "disconnected": "disconnected",
    "disconnect": "disconnected",
}
USER_FIELDS = ("user_id", "userId")
CHANNEL_FIELDS = ("channel_id", "channelId")
PROJECT_FIELDS = ("project_id", "projectId")
PLACE_FACTS = ("channel_id", "project_id")
USER_LOOKUP_PAGE = 25
CALLBACK_EXAMPLE: dict[str, Any] = {
    "event": "connection",
    "user_id": "pntr54355430-dfbdb43-43t34mmljbd",
    "channel_id": "Channel ID",
    "project_id": "Project ID",
    "time": "2026-11-27T10:00:00Z",
}
SETUP = "the WebHook of the channel"
UNDERSTOOD_FIELDS = "`event` (detection|connection|disconnection), `user_id`, `channel_id`, `project_id`, a time"


class SmartRegionWebhooks(Webhooks):
    def describe(self, body: Mapping[str, Any]) -> EventFacts:
        event_type = text(first_value(body, EVENT_TYPE_FIELDS))
        state = PRESENCE_STATES.get((event_type or "").strip().lower())
        found = {
            "user_id": identifier(first_value(body, USER_FIELDS)),
            "channel_id": identifier(first_value(body, CHANNEL_FIELDS)),
            "project_id": identifier(first_value(body, PROJECT_FIELDS)),
        }
        facts = {name: value for name, value in found.items() if value is not None}
        user_id = facts.get("user_id")
        recognised = state is not None and user_id is not None
        return EventFacts(
            provider_event_id=identifier(first_value(body, EVENT_ID_FIELDS), MAX_EVENT_ID_LENGTH),
            event_type=event_type,
            recognised=recognised,
            subject_kind="registration" if user_id else None,
            subject_ref=user_id,
            state=state,
            detail_type=f"{PROVIDER}.user.{state}" if recognised else None,
            occurred_at=parse_time(first_value(body, TIME_FIELDS)),
            facts=facts,
        )

    def subject_of(self, registration: RegistrationItem) -> str | None:
        return registration.user_id

    def registrations_of(
        self, subject_ref: str, facts: Mapping[str, str], store: RegistrationStore
    ) -> Iterator[RegistrationItem]:
        token: str | None = None
        while True:
            page, token = store.find_registrations(PROVIDER, subject_ref, USER_LOOKUP_PAGE, token)
            yield from (registration for registration in page if self.concerns(registration, facts))
            if not token:
                return

    def concerns(self, registration: RegistrationItem, facts: Mapping[str, str]) -> bool:
        """A user id is unique per channel: where the event names a channel or project, match it."""
        return all(facts.get(name) in (None, registration.details.get(name)) for name in PLACE_FACTS)

    def apply_to_registration(
        self, store: RegistrationStore, registration: RegistrationItem, item: EventItem, state: str
    ) -> bool:
        from chatbridge.store.items import PresenceItem

        presence = PresenceItem(state=state, last_seen_at=item.effective_at, event_id=item.id, version=item.version)
        # Already set by this event: an earlier attempt applied it, then failed to publish or mark.
        already = registration.presence is not None and registration.presence.event_id == item.id
        return store.apply_presence(registration.id, presence) or already


WEBHOOKS = SmartRegionWebhooks(PROVIDER)


PRESENCE_DESCRIPTIONS = {
    "detected": "SmartRegion detected the registered user near a channel.",
    "connected": "The registered user connected to a channel.",
    "disconnected": "The registered user disconnected from a channel.",
}


def event_types() -> list[EventTypeInfo]:
    """The detail-types presence webhooks are published as, for the event-type catalogue."""
    example_facts = {"user_id": CALLBACK_EXAMPLE["user_id"], "channel_id": "ch-1", "project_id": "pr-1"}
    return [
        EventTypeInfo(
            name=f"{PROVIDER}.user.{state}",
            description=description,
            example={
                "id": "1aa834fe-cfc8-57c3-9ce5-2d5fdbe2f829",
                "provider": PROVIDER,
                "type": event,
                "state": state,
                "subject_ref": example_facts["user_id"],
                "occurred_at": "2026-11-27T10:00:00Z",
                "received_at": "2026-11-27T10:00:00.120000Z",
                "outcome": "applied",
                "registration_ids": ["0d4f1e1e-8a7b-5c55-9d36-2b0d8f0f5a11"],
                "message_id": None,
                "facts": example_facts,
            },
        )
        for event, (state, description) in zip(
            ("detection", "connection", "disconnection"), PRESENCE_DESCRIPTIONS.items(), strict=True
        )
    ]
