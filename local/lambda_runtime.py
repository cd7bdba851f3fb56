"""template.yaml's functions run in this process, as Lambda runs each in an execution environment.

One home for what the dev server, the events pipeline, the tests and the benchmarks all need to call
a handler the way Lambda does: the import paths (the layer as /opt/python, a function's folder as
/var/task), loading a handler, a Lambda context, and `invoke`, which lets one invocation run at a time.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from local.template import ROOT, FunctionInfo, functions, load_template

LAYER_DIR = ROOT / "layers" / "chatbridge"
ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "eu-west-1"

Handler = Callable[[dict[str, Any], Any], Any]


# -- import paths and handlers -------------------------------------------------------------------


def ensure_import_paths(code_dirs: Iterable[os.PathLike[str] | str]) -> None:
    """Put the layer and each function folder first on sys.path, as Lambda does with /opt/python and /var/task."""
    for directory in [LAYER_DIR, *code_dirs]:
        entry = str(directory)
        if entry not in sys.path:
            sys.path.insert(0, entry)


def ensure_every_function_path() -> None:
    """The layer and the folder of every function of template.yaml (scripts that import several handlers)."""
    ensure_import_paths(info.code_uri for info in functions().values())


def load_handler(function: FunctionInfo) -> Handler:
    ensure_import_paths([function.code_uri])
    module = importlib.import_module(function.module)
    handler: Handler = getattr(module, function.attribute)
    return handler


def check_unique_modules(infos: Iterable[FunctionInfo]) -> None:
    """Every function shares one sys.modules here, so two handler modules must not share a name."""
    seen: dict[str, FunctionInfo] = {}
    for info in infos:
        other = seen.setdefault(info.module, info)
        if other.code_uri != info.code_uri:
            raise RuntimeError(f"{other.name} and {info.name} both use a handler module named {info.module!r}")


# -- the Lambda context --------------------------------------------------------------------------


def function_arn(function_name: str, region: str) -> str:
    return f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function_name}"


@dataclass
class FakeLambdaContext:
    """What Powertools and the handlers read from the real LambdaContext.

    The defaults are those of template.yaml's Globals (512 MB, 29 s); `clock` measures the time
    remaining (inject a fixed one where a test must not depend on how long it runs).
    """

    function_name: str = "chatbridge-local"
    memory_limit_in_mb: int = 512
    timeout_ms: int = 29_000
    region: str = DEFAULT_REGION
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    identity: Any = None
    client_context: Any = None
    clock: Callable[[], float] = time.monotonic
    started: float | None = None

    def __post_init__(self) -> None:
        if self.started is None:
            self.started = self.clock()

    @property
    def invoked_function_arn(self) -> str:
        return function_arn(self.function_name, self.region)

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed_ms = int((self.clock() - (self.started or 0.0)) * 1000)
        return max(0, self.timeout_ms - elapsed_ms)


def _function_setting(name: str, key: str, default: int) -> int:
    template = load_template()
    properties = template["Resources"][name].get("Properties", {})
    globals_ = (template.get("Globals") or {}).get("Function", {})
    return int(properties.get(key, globals_.get(key, default)))


def lambda_context_for(function: FunctionInfo, region: str) -> FakeLambdaContext:
    """A new context for one invocation, with the function's memory and timeout from template.yaml."""
    return FakeLambdaContext(
        function_name=function.name,
        memory_limit_in_mb=_function_setting(function.name, "MemorySize", 128),
        timeout_ms=_function_setting(function.name, "Timeout", 3) * 1000,
        region=region,
    )


# -- invocation ----------------------------------------------------------------------------------

# Powertools' resolvers keep the current event on a class attribute shared by every app in the
# process (BaseRouter.current_event), and all functions share one Logger and one Metrics. Lambda
# never runs two invocations in one execution environment; here every function shares one
# process, so invocations take turns or one request could read another's event (and its caller).
_ONE_AT_A_TIME = threading.Lock()


def invoke(handler: Handler, event: dict[str, Any], new_context: Callable[[], Any]) -> Any:
    """Call `handler` once no other in-process invocation runs; its context is made when its turn
    comes, so the time remaining counts from the start of the invocation, as in Lambda."""
    with _ONE_AT_A_TIME:
        return handler(event, new_context())
