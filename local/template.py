"""Reads template.yaml so the local stack and the tests cannot drift from what is deployed."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"
# API Gateway's catch-all route: what an HttpApi event without Path and Method becomes.
CATCH_ALL_PATH = "$default"


class _CfnLoader(yaml.SafeLoader):
    """Accepts CloudFormation short-form intrinsics (!Ref, !Sub, !GetAtt...) as plain data."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)  # type: ignore[no-untyped-call]


@cache
def load_template() -> dict[str, Any]:
    with TEMPLATE_PATH.open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)
    return loaded


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in load_template()["Resources"].items() if r["Type"] == kind}


def table_definition(table_name: str) -> dict[str, Any]:
    """`create_table` arguments for the one table of template.yaml."""
    (props,) = [r["Properties"] for r in resources("AWS::DynamoDB::Table").values()]
    definition: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props["BillingMode"],
    }
    if props.get("GlobalSecondaryIndexes"):
        definition["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if props.get("StreamSpecification"):
        definition["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    return definition


def create_table(client: Any, table_name: str) -> None:
    client.create_table(**table_definition(table_name))
    client.get_waiter("table_exists").wait(TableName=table_name)


@dataclass(frozen=True)
class HttpRoute:
    function: str
    method: str
    path: str
    code_uri: Path
    module: str
    attribute: str
    public: bool

    @property
    def route_key(self) -> str:
        # API Gateway names the catch-all route by its path alone
        return self.path if self.is_catch_all else f"{self.method} {self.path}"

    @property
    def is_catch_all(self) -> bool:
        return self.path == CATCH_ALL_PATH


@dataclass(frozen=True)
class FunctionInfo:
    name: str
    code_uri: Path
    module: str
    attribute: str


def functions() -> dict[str, FunctionInfo]:
    found = {}
    for name, resource in resources("AWS::Serverless::Function").items():
        props = resource["Properties"]
        module, attribute = props["Handler"].rsplit(".", 1)
        found[name] = FunctionInfo(name, ROOT / props["CodeUri"], module, attribute)
    return found


def http_routes() -> list[HttpRoute]:
    routes = []
    for name, resource in resources("AWS::Serverless::Function").items():
        info = functions()[name]
        for event in (resource["Properties"].get("Events") or {}).values():
            if event["Type"] != "HttpApi":
                continue
            props = event["Properties"]
            auth = (props.get("Auth") or {}).get("Authorizer")
            routes.append(
                HttpRoute(
                    function=name,
                    # SAM makes an event without Path and Method the `$default` route (any method)
                    method=str(props.get("Method", "ANY")).upper(),
                    path=props.get("Path", CATCH_ALL_PATH),
                    code_uri=info.code_uri,
                    module=info.module,
                    attribute=info.attribute,
                    public=auth == "NONE",
                )
            )
    return routes


def authorizer_function() -> FunctionInfo:
    (api,) = resources("AWS::Serverless::HttpApi").values()
    auth = api["Properties"]["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]
    # `!GetAtt Function.Arn`, or `!Ref Function.Alias` (SAM's AutoPublishAlias, for SnapStart)
    arn = authorizer["FunctionArn"]
    function_name = arn["Fn::GetAtt"] if "Fn::GetAtt" in arn else arn["Ref"]
    function_name = function_name.split(".")[0] if isinstance(function_name, str) else function_name[0]
    return functions()[function_name]


def authorizer_ttl_seconds() -> int:
    (api,) = resources("AWS::Serverless::HttpApi").values()
    auth = api["Properties"]["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]
    return int(authorizer.get("Identity", {}).get("ReauthorizeEvery", 0))
