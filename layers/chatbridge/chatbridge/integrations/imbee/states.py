"""Imbee's words for statuses (lowercased), mapped to ours; a word missing here is kept as said."""

STATES: dict[str, str] = {"created": "created", "read": "read", "expired": "expired"}
