"""Chatbridge provider layer: clients, models, store, secrets, errors and observability."""
