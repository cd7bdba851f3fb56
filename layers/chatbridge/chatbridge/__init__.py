"""Chatbridge provider layer: clients, models, store, secrets, errors and observability."""

from chatbridge.snapshot import register_restore_hooks

# Every handler imports the layer: under SnapStart, each restored environment forgets what the
# snapshot captured (chatbridge/snapshot.py). Outside Lambda's runtime this registers nothing.
register_restore_hooks()
