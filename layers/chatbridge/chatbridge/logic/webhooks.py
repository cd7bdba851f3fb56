"""Subscriptions of the operator's bots, the event-type catalogue, the attempt log, replay and
recovery. Deliveries themselves are made by the delivery function (chatbridge.logic.deliveries);
what the API does here is store subscriptions and queue deliveries, never call a bot.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache

from chatbridge.clock import derived_id, random_id, utc_now
from chatbridge.errors import ConflictError, FieldIssue, NotFoundError, ValidationFailedError
from chatbridge.integrations import registry
from chatbridge.logic.deliveries import DISABLED_EVENT_TYPE, TaskQueue, restart
from chatbridge.models.webhooks import (
    DeliveryAttempt,
    DeliveryAttemptPage,
    EventType,
    EventTypeList,
    QueuedDelivery,
    RecoverOutcome,
    ReplayOutcome,
    SecretRotation,
    Webhook,
    WebhookCreated,
    WebhookCreateRequest,
    WebhookDisabled,
    WebhookPage,
    WebhookPayload,
    WebhookUpdateRequest,
)
from chatbridge.observability import logger
from chatbridge.store.base import WebhookStore, get_webhook_store
from chatbridge.store.items import AttemptItem, SealedSecretItem, WebhookItem
from chatbridge.webhooks.patterns import matches, subscribes, valid_pattern

ROTATION_OVERLAP = timedelta(hours=24)
RECOVER_LIMIT = 200
Clock = Callable[[], datetime]


# -- catalogue ---------------------------------------------------------------------------------


@cache
def catalogue() -> EventTypeList:
    """Every event type a subscription can name: the providers' (from the registry) and our own."""
    listed = [
        EventType(
            name=info.name,
            description=info.description,
            example=WebhookPayload(type=info.name, timestamp=info.example["occurred_at"], data=info.example),
        )
        for info in registry.event_types()
    ]
    disabled = WebhookDisabled(
        id="3e1f0a9b-8c7d-5e6f-a1b2-c3d4e5f60718",
        webhook_id="wh_3f0c9d2a6b1e4f7a8c5d2e1f0a9b8c7d",
        url="https://bot.example.com/chatbridge",
        reason="failing",
        failing_since=datetime.fromisoformat("2026-11-22T10:00:00+00:00"),
        disabled_at=datetime.fromisoformat("2026-11-27T10:00:00+00:00"),
    )
    listed.append(
        EventType(
            name=DISABLED_EVENT_TYPE,
            description="A subscription was disabled: its endpoint answered 410, or failed every attempt "
            "for five days. Sent to the other subscriptions that ask for it.",
            example=WebhookPayload(
                type=DISABLED_EVENT_TYPE, timestamp=disabled.disabled_at, data=disabled.model_dump(mode="json")
            ),
        )
    )
    return EventTypeList(items=listed)


def _families() -> set[str]:
    """`<provider>.<resource>` of every catalogued type: a state the catalogue does not list yet is
    still a type a provider may report (their vocabularies are data, and grow)."""
    return {item.name.rsplit(".", 1)[0] for item in catalogue().items}


def checked_event_types(patterns: list[str], field: str = "event_types") -> list[str]:
    names = [item.name for item in catalogue().items]
    families = _families()
    issues = []
    for position, pattern in enumerate(patterns):
        if not valid_pattern(pattern):
            issues.append(FieldIssue(f"{field}.{position}", "lowercase dot-separated segments, or `*` segments"))
        elif not any(matches(pattern, name) for name in names) and pattern.rsplit(".", 1)[0] not in families:
            issues.append(FieldIssue(f"{field}.{position}", "matches no event type of GET /v1/event-types"))
    if issues:
        raise ValidationFailedError("Some event types are not in the catalogue.", errors=issues)
    return list(dict.fromkeys(patterns))


def checked_url(url: str) -> str:
    from chatbridge.settings import get_settings
    from chatbridge.webhooks.urls import UnsafeUrlError, check_url

    try:
        check_url(url, get_settings().webhook_url_policy)
    except UnsafeUrlError as exc:
        raise ValidationFailedError(
            "This URL may not receive deliveries.", errors=[FieldIssue("url", str(exc))], title="URL not allowed"
        ) from exc
    return url


# -- subscriptions -----------------------------------------------------------------------------


def to_resource(item: WebhookItem, now: datetime | None = None) -> Webhook:
    moment = now or utc_now()
    current = item.secrets[-1]  # a rotation appends the new secret
    retiring = [s.retires_at for s in item.secrets if s.retires_at is not None and s.retires_at > moment]
    return Webhook(
        **item.model_dump(exclude={"secrets", "request_hash"}),
        secret_created_at=current.created_at,
        previous_secret_expires_at=max(retiring) if retiring else None,
    )


def _new_secret(webhook_id: str, now: datetime) -> tuple[str, SealedSecretItem]:
    from chatbridge.webhooks.secrets import seal_secret
    from chatbridge.webhooks.signing import new_secret

    secret = new_secret()
    ciphertext, key_id = seal_secret(secret, webhook_id)
    return secret, SealedSecretItem(ciphertext=ciphertext, key_id=key_id, created_at=now)


def create_webhook(
    request: WebhookCreateRequest,
    *,
    caller: str,
    idempotency_key: str | None,
    store: WebhookStore | None = None,
    clock: Clock = utc_now,
) -> tuple[WebhookCreated, bool]:
    """(the subscription with its secret, True) once; (it without the secret, False) when the same
    Idempotency-Key comes again with the same body."""
    store = store or get_webhook_store()
    event_types = checked_event_types(request.event_types)
    checked_url(request.url)
    seed = derived_id("webhook", caller, idempotency_key) if idempotency_key else random_id()
    webhook_id = "wh_" + seed.replace("-", "")
    request_hash = hashlib.sha256(request.model_dump_json().encode()).hexdigest()
    if idempotency_key:
        existing = store.get_webhook(webhook_id)
        if existing is not None:
            return _repeat(existing, request_hash), False
    now = clock()
    secret, sealed = _new_secret(webhook_id, now)
    item = WebhookItem(
        id=webhook_id,
        url=request.url,
        event_types=event_types,
        description=request.description,
        secrets=[sealed],
        request_hash=request_hash,
        created_at=now,
        updated_at=now,
    )
    if not store.create_webhook(item):
        raced = store.get_webhook(webhook_id)
        if raced is None:
            raise ConflictError("The subscription was created and deleted meanwhile; try again.")
        return _repeat(raced, request_hash), False
    logger.info("webhook %s", "created", extra={"webhook_id": webhook_id, "event_types": event_types})
    return WebhookCreated(**to_resource(item, now).model_dump(), secret=secret), True


def _repeat(existing: WebhookItem, request_hash: str) -> WebhookCreated:
    if existing.request_hash != request_hash:
        raise ValidationFailedError(
            "This Idempotency-Key was already used with a different request body.",
            title="Idempotency-Key reused",
            errors=[FieldIssue(field="Idempotency-Key", message="use a new key for a different request")],
        )
    return WebhookCreated(**to_resource(existing).model_dump())


def _found(store: WebhookStore, webhook_id: str) -> WebhookItem:
    item = store.get_webhook(webhook_id)
    if item is None:
        raise NotFoundError(f"No webhook subscription with id {webhook_id}.", title="Webhook not found")
    return item


def get_webhook(webhook_id: str, *, store: WebhookStore | None = None) -> Webhook:
    return to_resource(_found(store or get_webhook_store(), webhook_id))


def list_webhooks(limit: int, next_token: str | None, *, store: WebhookStore | None = None) -> WebhookPage:
    items, token = (store or get_webhook_store()).list_webhooks(limit, next_token)
    now = utc_now()
    return WebhookPage(items=[to_resource(i, now) for i in items], next_token=token)


def update_webhook(
    webhook_id: str, request: WebhookUpdateRequest, *, store: WebhookStore | None = None, clock: Clock = utc_now
) -> Webhook:
    store = store or get_webhook_store()
    given = request.model_dump(include=request.model_fields_set)
    if any(value is None for value in given.values()):
        nulls = [FieldIssue(name, "may be left out, not null") for name, value in given.items() if value is None]
        raise ValidationFailedError("Leave out what does not change.", errors=nulls)
    if request.event_types is not None:
        given["event_types"] = checked_event_types(request.event_types)
    if request.url is not None:
        checked_url(request.url)
    now = clock()
    removes: tuple[str, ...] = ()
    if request.enabled is True:
        # enabling again starts a clean record: the five days count from the next failure
        removes = ("disabled_reason", "disabled_at", "failing_since")
    elif request.enabled is False:
        given["disabled_at"] = now
    updated = store.update_webhook(webhook_id, {**given, "updated_at": now}, removes)
    if updated is None:
        raise NotFoundError(f"No webhook subscription with id {webhook_id}.", title="Webhook not found")
    return to_resource(updated, now)


def delete_webhook(webhook_id: str, *, store: WebhookStore | None = None) -> None:
    """Its pending retries are dropped when they come due; its attempt log expires with its TTL."""
    if not (store or get_webhook_store()).delete_webhook(webhook_id):
        raise NotFoundError(f"No webhook subscription with id {webhook_id}.", title="Webhook not found")


def rotate_secret(webhook_id: str, *, store: WebhookStore | None = None, clock: Clock = utc_now) -> SecretRotation:
    """A new secret signs from now on; the one it replaces keeps signing beside it for 24 h."""
    store = store or get_webhook_store()
    item = _found(store, webhook_id)
    now = clock()
    retires_at = now + ROTATION_OVERLAP
    kept = [
        s if s.retires_at is not None else s.model_copy(update={"retires_at": retires_at})
        for s in item.secrets
        if s.retires_at is None or s.retires_at > now
    ]
    secret, sealed = _new_secret(webhook_id, now)
    if not store.replace_secrets(webhook_id, [*kept, sealed], item.updated_at, now):
        raise ConflictError("The subscription changed while its secret was rotated; try again.")
    logger.info("webhook secret %s", "rotated", extra={"webhook_id": webhook_id})
    return SecretRotation(webhook_id=webhook_id, secret=secret, previous_secret_expires_at=retires_at)


# -- attempts, replay, recovery ----------------------------------------------------------------


def attempt_view(item: AttemptItem) -> DeliveryAttempt:
    return DeliveryAttempt(**item.model_dump(exclude={"outcome", "webhook_id", "expires_at"}), status=item.outcome)


def list_attempts(
    webhook_id: str, limit: int, next_token: str | None, *, store: WebhookStore | None = None
) -> DeliveryAttemptPage:
    store = store or get_webhook_store()
    _found(store, webhook_id)
    items, token = store.attempts_of(webhook_id, limit, next_token)
    return DeliveryAttemptPage(items=[attempt_view(i) for i in items], next_token=token)


def _queue(queue: TaskQueue | None) -> TaskQueue:
    if queue is not None:
        return queue
    from chatbridge.webhooks.queue import get_task_queue

    return get_task_queue()


def replay_event(
    event_id: str,
    webhook_id: str | None,
    *,
    store: WebhookStore | None = None,
    queue: TaskQueue | None = None,
    clock: Clock = utc_now,
) -> ReplayOutcome:
    """Queue the event again for one subscription, or for every enabled one whose types match."""
    store = store or get_webhook_store()
    message = store.get_message(event_id)
    if message is None:
        raise NotFoundError(
            f"No event {event_id} was published for delivery (events are kept 30 days).", title="Event not found"
        )
    if webhook_id:
        target = _found(store, webhook_id)
        if not target.enabled:
            raise ConflictError(f"Webhook {webhook_id} is disabled: enable it first.", title="Webhook disabled")
        if not subscribes(target.event_types, message.event_type):
            raise ValidationFailedError(
                f"Webhook {webhook_id} does not subscribe to {message.event_type}.",
                errors=[FieldIssue("webhook", "its event_types do not cover this event")],
            )
        targets = [target]
    else:
        targets = [w for w in store.all_webhooks() if w.enabled and subscribes(w.event_types, message.event_type)]
    task_queue = _queue(queue) if targets else None
    queued = []
    for webhook in targets:
        assert task_queue is not None
        restarted = restart(store, task_queue, webhook=webhook, message=message, trigger="replay", now=clock())
        if restarted is None:
            raise ConflictError("A delivery of this event changed meanwhile; try again.")
        queued.append(QueuedDelivery(webhook_id=webhook.id, delivery_id=restarted.id))
    logger.info("event %s", "replayed", extra={"event_id": event_id, "deliveries": len(queued)})
    return ReplayOutcome(event_id=event_id, deliveries=queued)


def recover(
    webhook_id: str,
    since: datetime,
    *,
    store: WebhookStore | None = None,
    queue: TaskQueue | None = None,
    clock: Clock = utc_now,
) -> RecoverOutcome:
    """Queue again every failed delivery of the subscription created since `since` (up to
    RECOVER_LIMIT per call; `more` says to call again)."""
    store = store or get_webhook_store()
    webhook = _found(store, webhook_id)
    if not webhook.enabled:
        raise ConflictError(f"Webhook {webhook_id} is disabled: enable it first.", title="Webhook disabled")
    recovered: list[QueuedDelivery] = []
    token: str | None = None
    task_queue: TaskQueue | None = None
    while len(recovered) < RECOVER_LIMIT:
        failed, token = store.failed_deliveries(webhook_id, since, min(100, RECOVER_LIMIT - len(recovered)), token)
        for delivery in failed:
            message = store.get_message(delivery.event_id)
            if message is None:
                continue  # the event expired: nothing left to send
            task_queue = task_queue or _queue(queue)
            restarted = restart(store, task_queue, webhook=webhook, message=message, trigger="recovery", now=clock())
            if restarted is not None:
                recovered.append(QueuedDelivery(webhook_id=webhook_id, delivery_id=restarted.id))
        if not token:
            break
    logger.info("webhook %s", "recovered", extra={"webhook_id": webhook_id, "deliveries": len(recovered)})
    return RecoverOutcome(webhook_id=webhook_id, recovered=recovered, more=token is not None)
