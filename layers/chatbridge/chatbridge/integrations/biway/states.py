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

# What a message record of each kind starts as when Bi-way's answer names no state (the guide:
# agents are "placé en attente de vérification"); also what a record stored `unknown` becomes once
# a report shows Bi-way got it.
FIRST_STATUS: dict[str, str] = {
    "submit": "accepted",
    "conversation": "accepted",
    "broadcast": "accepted",
    "chat_token": "created",
    "template": "accepted",
    "agent": "pending_verification",
}
