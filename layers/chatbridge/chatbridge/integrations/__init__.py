"""Provider integrations: one package per provider, found through `chatbridge.integrations.registry`.

A package holds everything about its provider: the HTTP client (`client`), the registration step
(`registration`), the messaging steps (`messaging`), webhook reading and matching (`webhooks`), the
status vocabulary (`states`), the public request models with their OpenAPI examples (`requests`),
and anything else only that provider needs. The registry imports a module only when it is used,
so a function loads just the providers it serves.
"""
