"""Bi-way (Pocket Communication): partner and user services, messaging, state-change callbacks."""
