"""The route table: template.yaml's HttpApi routes, matched in API Gateway's order of preference."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from local.template import HttpRoute


@dataclass(frozen=True)
class CompiledRoute:
    route: HttpRoute
    pattern: re.Pattern[str]
    names: tuple[str, ...]
    greedy: bool

    def priority(self) -> tuple[bool, int, bool]:
        # API Gateway prefers literal paths, then fewer variables, greedy {proxy+} last, ANY last.
        return (self.greedy, len(self.names), self.route.method == "ANY")


def compile_route(route: HttpRoute) -> CompiledRoute:
    parts, names, greedy = [], [], False
    for segment in route.path.strip("/").split("/"):
        variable = re.fullmatch(r"\{([^{}]+?)(\+?)\}", segment)
        if variable is None:
            parts.append(re.escape(segment))
            continue
        names.append(variable.group(1))
        greedy = greedy or variable.group(2) == "+"
        parts.append("(.+)" if variable.group(2) else "([^/]+)")
    pattern = re.compile("^/" + "/".join(parts) + "$")
    return CompiledRoute(route, pattern, tuple(names), greedy)


class RouteTable:
    def __init__(self, routes: Iterable[HttpRoute]) -> None:
        routes = list(routes)
        self._routes = sorted((compile_route(r) for r in routes if not r.is_catch_all), key=CompiledRoute.priority)
        # `$default` receives what no route matches, whatever the method and path
        self._catch_all = next((r for r in routes if r.is_catch_all), None)

    def match(self, method: str, raw_path: str) -> tuple[HttpRoute, dict[str, str]] | None:
        for compiled in self._routes:
            if compiled.route.method not in (method, "ANY"):
                continue
            found = compiled.pattern.match(raw_path)
            if found is not None:
                values = (unquote(v) for v in found.groups())
                return compiled.route, dict(zip(compiled.names, values, strict=True))
        return (self._catch_all, {}) if self._catch_all is not None else None
