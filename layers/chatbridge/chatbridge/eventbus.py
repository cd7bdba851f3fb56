"""Publishing normalised provider events to the EventBridge bus named by EVENT_BUS_NAME."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel

from chatbridge.errors import ConfigurationError
from chatbridge.models.events import BusEventDetail

EVENT_SOURCE = "chatbridge"


class EventPublishError(RuntimeError):
    """EventBridge did not take the event; the stream record is retried."""


class EventPublisher(Protocol):
    def publish(self, detail_type: str, detail: BusEventDetail) -> None: ...


class EventBridgePublisher:
    def __init__(self, client: Any, bus_name: str) -> None:
        self._client = client
        self._bus_name = bus_name

    def publish(self, detail_type: str, detail: BusEventDetail) -> None:
        self.publish_notice(detail_type, detail, detail.occurred_at)

    def publish_notice(self, detail_type: str, detail: BaseModel, at: datetime) -> None:
        """Any detail of ours (e.g. `chatbridge.webhook.disabled`), at the time it happened."""
        entry = {
            "Source": EVENT_SOURCE,
            "DetailType": detail_type,
            "Detail": detail.model_dump_json(),
            "EventBusName": self._bus_name,
            "Time": at,
        }
        response = self._client.put_events(Entries=[entry])
        if response.get("FailedEntryCount"):
            failure = (response.get("Entries") or [{}])[0]
            raise EventPublishError(f"EventBridge refused the event: {failure.get('ErrorCode')}")


def get_publisher() -> EventBridgePublisher:
    from chatbridge.aws import events_client
    from chatbridge.settings import get_settings

    bus_name = get_settings().event_bus_name
    if not bus_name:
        raise ConfigurationError("EVENT_BUS_NAME is not set: events cannot be published.")
    return EventBridgePublisher(events_client(), bus_name)
