"""Publishing normalised provider events to the EventBridge bus named by EVENT_BUS_NAME."""

from __future__ import annotations

from typing import Any, Protocol

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
        entry = {
            "Source": EVENT_SOURCE,
            "DetailType": detail_type,
            "Detail": detail.model_dump_json(),
            "EventBusName": self._bus_name,
            "Time": detail.occurred_at,
        }
        response = self._client.put_events(Entries=[entry])
        if response.get("FailedEntryCount"):
            failure = (response.get("Entries") or [{}])[0]
            raise EventPublishError(f"EventBridge refused the event: {failure.get('ErrorCode')}")


def get_publisher() -> EventPublisher:
    from chatbridge.aws import events_client
    from chatbridge.settings import get_settings

    bus_name = get_settings().event_bus_name
    if not bus_name:
        raise ConfigurationError("EVENT_BUS_NAME is not set: events cannot be published.")
    return EventBridgePublisher(events_client(), bus_name)
