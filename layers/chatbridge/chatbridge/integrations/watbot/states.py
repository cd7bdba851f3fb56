"""Watbot's words for statuses (lowercased), mapped to ours; a word missing here is kept as said."""

STATES: dict[str, str] = {"sent": "sent", "delivered": "delivered", "read": "read", "failed": "failed"}
