"""The small common interface of an integration: what its modules hand to the generic logic.

- `registration.register(request) -> (RegistrationItem, created)`: call the provider, describe
  what to store.
- `messaging.STEPS[operation](request, message_id) -> Dispatched`: call the provider, describe
  the message record.
  Both describe a resource with status `unknown` (`unknown_outcome`) when a call that is not safe
  to repeat got no answer (OutcomeUnknownError): the logic stores it and answers 504 with its id.
- `webhooks.WEBHOOKS`: a `Webhooks` that reads a body and finds and updates what it is about;
  `webhooks.event_types()`: the detail-types it publishes (`EventTypeInfo`), for the catalogue.
- `states.STATES`: the provider's words for statuses, mapped to ours.
- `requests`: the public request models (`REGISTRATION_REQUEST`, `MESSAGING_REQUESTS`).
- `contacts`: the bot CRM behind /v1/contacts (a module matching `ContactBook`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from chatbridge.errors import OutcomeUnknownError
from chatbridge.integrations.webhook_fields import (
    EVENT_ID_FIELDS,
    MAX_EVENT_ID_LENGTH,
    EventFacts,
    first_value,
    identifier,
)
from chatbridge.message_statuses import UNKNOWN_STATUS, report_version

if TYPE_CHECKING:
    from chatbridge.models.contacts import ContactPage, ContactTag, ContactTags, ContactVariable, ContactVariables
    from chatbridge.store import MessageStatusStore, RegistrationStore
    from chatbridge.store.items import EventItem, MessageItem, RegistrationItem

AnswerT = TypeVar("AnswerT")


@dataclass(frozen=True)
class Dispatched:
    """What a messaging step did: the message to store, or one already stored, and what to answer."""

    item: MessageItem
    created: bool = True  # False: the provider answered with something it already had (200, not 201)
    stored: bool = False  # True: `item` is already in the store (the provider handed back a known reference)
    url: str | None = None  # a chat URL: answered, never stored with the message
    # With an `unknown` item: what a later provider answer or callback may match it by
    # (`MessageStatusStore.unknown_messages`), e.g. a recipient; the integration's own words.
    match_keys: tuple[str, ...] = ()

    @property
    def unknown(self) -> bool:
        return self.item.status == UNKNOWN_STATUS


def outcome_of(call: Callable[[], AnswerT]) -> AnswerT | OutcomeUnknownError:
    """The provider's answer, or the OutcomeUnknownError telling that none came back."""
    try:
        return call()
    except OutcomeUnknownError as unknown:
        return unknown


def unknown_outcome(error: OutcomeUnknownError, resolved_by: str) -> dict[str, Any]:
    """What a resource stored `unknown` says about it (`details.outcome_unknown`): why, and what
    may resolve it. Integrations store the request beside it, never its secrets."""
    return {"cause": error.cause or "no answer", "resolved_by": resolved_by}


@dataclass(frozen=True)
class EventTypeInfo:
    """One entry of the event-type catalogue (GET /v1/event-types): a detail-type the events processor
    publishes, and an example of its detail (the normalised event)."""

    name: str
    description: str
    example: dict[str, Any]


Step = Callable[[Any, str], Dispatched]
Registrar = Callable[[Any], "tuple[RegistrationItem, bool]"]


class Webhooks:
    """How one provider's webhooks are read and applied.

    The defaults fit a provider whose events name our resources by the provider's own reference
    (`provider_ref`) and report a verification state; an integration overrides what differs.
    A provider without webhooks gets these defaults: its bodies are stored, never recognised.
    """

    def __init__(self, provider: str) -> None:
        self.provider = provider

    def describe(self, body: Mapping[str, Any]) -> EventFacts:
        return EventFacts(provider_event_id=identifier(first_value(body, EVENT_ID_FIELDS), MAX_EVENT_ID_LENGTH))

    def subject_of(self, registration: RegistrationItem) -> str | None:
        """How the provider refers to a registration in its events."""
        return registration.provider_ref

    def registrations_of(
        self, subject_ref: str, facts: Mapping[str, str], store: RegistrationStore
    ) -> Iterator[RegistrationItem]:
        found = store.find_registration_by_provider_ref(self.provider, subject_ref)
        if found is not None:
            yield found

    def concerns(self, registration: RegistrationItem, facts: Mapping[str, str]) -> bool:
        """Whether an event about the registration's subject is about this registration."""
        return True

    def message_of(self, facts: EventFacts, item: EventItem, store: MessageStatusStore) -> MessageItem | None:
        """The message an event is about: by the provider's reference; an integration whose events
        can also name a message stored `unknown` (no reference yet) resolves it here."""
        assert facts.subject_ref
        return store.find_message_by_provider_ref(self.provider, facts.subject_ref)

    def apply_to_registration(
        self, store: RegistrationStore, registration: RegistrationItem, item: EventItem, state: str
    ) -> bool:
        """Set the reported state if the report is newer than the last one applied."""
        return store.apply_verification_status(
            registration.id, state, report_version(item.effective_at, state, item.id)
        )


class ContactBook(Protocol):
    """A bot CRM's contacts, tags and variables (what /v1/contacts serves)."""

    def list_contacts(
        self,
        connection: str,
        *,
        count: int,
        page: int,
        date_from: int | None,
        date_to: int | None,
        bot_id: str | None,
    ) -> ContactPage: ...

    def list_tags(self, connection: str, contact_id: str) -> ContactTags: ...

    def attach_tag(self, connection: str, contact_id: str, tag: str) -> ContactTag: ...

    def detach_tag(self, connection: str, contact_id: str, tag: str) -> None: ...

    def list_variables(self, connection: str, contact_id: str) -> ContactVariables: ...

    def set_variable(
        self, connection: str, contact_id: str, name: str, value: str, *, deletable: bool
    ) -> ContactVariable: ...

    def delete_variable(self, connection: str, contact_id: str, name: str) -> None: ...
