"""The registry is the one list of providers: the request unions, the packages, the simulators and
the event files agree with it, and no provider's name is spread over the layer outside its package."""

from __future__ import annotations

import ast
import io
import json
import tokenize
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from chatbridge.integrations import registry
from chatbridge.models import requests
from tests.unit.conftest import CONNECTION_SECRETS

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "chatbridge" / "chatbridge"
EVENTS = ROOT / "events"
SIMULATORS = ROOT / "local" / "simulators"
# How a provider's name can be written in code (the registry's title included).
SPELLINGS = {i.name: {i.name, i.title.lower()} for i in registry.INTEGRATIONS}
# The modules allowed to name providers outside their packages: the registry and the public models.
MAY_NAME_PROVIDERS = {"integrations/registry.py", *(f"models/{p.name}" for p in (LAYER / "models").glob("*.py"))}
MAX_MODULES_NAMING_A_PROVIDER = 4


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for member in get_args(annotation) for model in _models(member)]


def _providers_of(annotation: Any) -> set[str]:
    return {str(model.model_fields["provider"].annotation.__args__[0]) for model in _models(annotation)}  # type: ignore[union-attr]


def _event_files() -> list[tuple[Path, dict[str, Any]]]:
    return [(path, json.loads(path.read_text())) for path in sorted(EVENTS.glob("*/*.json")) if path.name[0] != "_"]


def _body_provider(event: dict[str, Any]) -> str | None:
    try:
        body = json.loads(event.get("body") or "null")
    except ValueError:
        return None
    return body.get("provider") if isinstance(body, dict) else None


def test_the_registration_union_has_a_variant_per_registering_provider() -> None:
    assert _providers_of(requests.RegistrationRequest) == set(registry.registration_providers())


@pytest.mark.parametrize("operation", registry.MESSAGING_OPERATIONS)
def test_each_messaging_union_has_a_variant_per_provider_offering_it(operation: str) -> None:
    union = {
        "messages": requests.MessageRequest,
        "broadcasts": requests.BroadcastRequest,
        "conversations": requests.ConversationRequest,
        "chat-tokens": requests.ChatTokenRequest,
        "templates": requests.TemplateRequest,
        "agents": requests.AgentRequest,
    }[operation]
    assert _providers_of(union) == set(registry.providers_of(operation))


@pytest.mark.parametrize("integration", registry.INTEGRATIONS, ids=lambda i: i.name)
def test_each_package_has_what_its_entry_offers(integration: registry.Integration) -> None:
    package = LAYER / "integrations" / integration.name
    assert (package / "client.py").is_file()
    assert integration.module("requests").NOTES is not None
    if integration.registers:
        assert callable(registry.registrar(integration.name))
    for operation in integration.operations:
        assert callable(registry.step(operation, integration.name))
    if integration.webhooks:
        assert registry.webhooks(integration.name).provider == integration.name
        assert integration.module("webhooks").CALLBACK_EXAMPLE
    assert bool(registry.states(integration.name)) == integration.states
    if integration.contacts:
        assert hasattr(integration.module("contacts"), "list_contacts")


def test_every_provider_has_a_simulator_and_every_simulator_a_provider() -> None:
    simulators = {p.stem for p in SIMULATORS.glob("*.py")} - {"__init__", "serving"}
    assert simulators == set(registry.names())


def test_every_provider_has_test_credentials() -> None:
    connections = {name.split("/")[1] for name in CONNECTION_SECRETS if name.count("/") == 2}
    assert connections == set(registry.names())


def test_every_offer_has_an_event_file_and_every_event_names_a_known_provider() -> None:
    files = _event_files()
    posted = {(_body_provider(e), (e.get("rawPath") or "").split("/")[2]) for _, e in files if e.get("rawPath")}
    for name in registry.registration_providers():
        assert (name, "registrations") in posted, f"no events/registrations file registers at {name}"
    for operation in registry.MESSAGING_OPERATIONS:
        for name in registry.providers_of(operation):
            assert (name, operation) in posted, f"no events/messaging file for {operation} at {name}"
    # an unknown_provider file names no provider on purpose (its answer is the 404 naming the known ones)
    paths = [e.get("rawPath") or "" for path, e in files if "unknown_provider" not in path.name]
    called_back = {path.split("/")[3] for path in paths if path.startswith("/v1/callbacks/")}
    assert set(registry.callback_providers()) <= called_back
    named = {_body_provider(e) for path, e in files if "unknown_provider" not in path.name} - {None}
    assert named <= set(registry.names())
    assert called_back <= set(registry.names())


def _code_tokens(path: Path) -> str:
    """The module's code, lowercased, without comments and docstrings."""
    source = path.read_text()
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    kept = [
        token.string.lower()
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type != tokenize.COMMENT and not (token.type == tokenize.STRING and token.start[0] in docstrings)
    ]
    return " ".join(kept)


@pytest.mark.parametrize("name", registry.names())
def test_outside_its_package_a_provider_is_named_only_by_the_registry_and_the_public_models(name: str) -> None:
    naming = sorted(
        path.relative_to(LAYER).as_posix()
        for path in LAYER.rglob("*.py")
        if not path.relative_to(LAYER).as_posix().startswith(f"integrations/{name}/")
        and any(spelling in _code_tokens(path) for spelling in SPELLINGS[name])
    )
    assert set(naming) <= MAY_NAME_PROVIDERS, naming
    assert len(naming) <= MAX_MODULES_NAMING_A_PROVIDER, naming
