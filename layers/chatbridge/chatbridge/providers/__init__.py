"""One client class per provider behind the small interface of `providers.base`.

Provider modules are imported on demand (see `chatbridge.logic`), so a function pays the import
cost only for the providers it calls.
"""
