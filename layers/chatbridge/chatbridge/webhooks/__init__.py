"""Webhooks to the operator's bots: Standard Webhooks signing, the URL guard, the delivery HTTP
client, the SQS task queue and the sealed signing secrets. The rules (fan-out, schedule, health)
are in `chatbridge.logic.deliveries`; subscriptions in `chatbridge.logic.webhooks`."""
