"""Bi-way's words for statuses (lowercased), mapped to ours; a word missing here is kept as said."""

STATES: dict[str, str] = {
    "pending_verification": "pending_verification",
    "pending": "pending_verification",
    "waiting_verification": "pending_verification",
    "active": "active",
    "activated": "active",
    "verified": "active",
    "accepted": "accepted",
    "queued": "accepted",
    "submitted": "accepted",
    "sent": "sent",
    "delivered": "delivered",
    "displayed": "read",
    "read": "read",
    "failed": "failed",
    "undelivered": "failed",
    "error": "failed",
    "rejected": "rejected",
    "refused": "rejected",
    "expired": "expired",
}
