"""The base of every model of the layer."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """A pydantic model whose validator and serializer are built on first use, not at import.

    A function imports the modules of all its routes, and with them dozens of models, while its
    first request uses a few: building every schema at import was the largest cold-start cost of
    the layer (benchmarks/cold_start.py). A model is built once, then reused by warm invocations.
    Subclasses may set their own `model_config`; pydantic merges it with this one.
    """

    model_config = ConfigDict(defer_build=True)
