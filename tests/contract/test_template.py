"""template.yaml holds the promises of the design: checked here so they cannot silently drift."""

from __future__ import annotations

import importlib
import re

from chatbridge.edge.paths import CATCH_ALL_ROUTE, PUBLIC_ROUTES, is_public
from local.template import functions, http_routes, load_template, resources


def test_table_has_pitr_sse_ttl_and_a_new_image_stream() -> None:
    (table,) = resources("AWS::DynamoDB::Table").values()
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    assert [k["AttributeName"] for k in props["KeySchema"]] == ["pk", "sk"]
    assert [i["IndexName"] for i in props["GlobalSecondaryIndexes"]] == ["gsi1", "gsi2", "gsi3"]


def test_api_uses_a_cached_lambda_authorizer_on_x_api_key() -> None:
    (api,) = resources("AWS::Serverless::HttpApi").values()
    auth = api["Properties"]["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]
    assert authorizer["Identity"]["Headers"] == ["x-api-key"]
    assert authorizer["Identity"]["ReauthorizeEvery"] > 0
    assert authorizer["EnableSimpleResponses"] is True
    assert authorizer["AuthorizerPayloadFormatVersion"] == "2.0"


def test_the_routes_without_authorizer_are_exactly_the_declared_public_routes() -> None:
    routes = {r.route_key: r for r in http_routes()}
    unauthenticated = {key for key, route in routes.items() if route.public}

    assert unauthenticated - PUBLIC_ROUTES == set(), "Authorizer: NONE in template.yaml, not in edge.paths"
    assert PUBLIC_ROUTES - unauthenticated == set(), "declared public in edge.paths, guarded (or absent) in template"


def test_the_entry_point_lets_through_exactly_the_template_routes_without_authorizer() -> None:
    keys = {r.route_key for r in http_routes()}
    for route in http_routes():
        if route.route_key == CATCH_ALL_ROUTE:
            continue  # no concrete path: the entry point knows it by its route key (below)
        path = re.sub(r"\{[^}]+\}", "x1", route.path)
        assert is_public(route.method, path) is route.public, route.route_key
        # not with another method, nor under a longer path or one that merely starts the same
        for method in {"GET", "POST", "PUT", "DELETE"} - {route.method}:
            if f"{method} {route.path}" not in keys:
                assert not is_public(method, path), (method, route.path)
        assert not is_public(route.method, path + "/x"), route.route_key
        if not route.path.endswith("}"):
            assert not is_public(route.method, path + "z"), route.route_key


def test_the_catch_all_route_is_public_and_served_by_the_meta_function() -> None:
    (catch_all,) = [r for r in http_routes() if r.route_key == CATCH_ALL_ROUTE]
    (event,) = [
        e["Properties"]
        for e in resources("AWS::Serverless::Function")[catch_all.function]["Properties"]["Events"].values()
        if e["Type"] == "HttpApi" and "Path" not in e["Properties"]
    ]

    assert catch_all.public and catch_all.function == "MetaFunction"
    # SAM makes the $default route of an HttpApi event without Path and Method
    assert "Method" not in event and event["ApiId"] == {"Ref": "ChatbridgeApi"}
    # it matches no concrete path, so it never lets a request past the gatekeeper by path
    assert not any(is_public(m, "/v1/nowhere") for m in ("GET", "POST", "PUT", "PATCH", "DELETE"))


def test_the_openapi_document_marks_exactly_the_public_routes_as_needing_no_key() -> None:
    import meta_handler
    from chatbridge.routes.meta import openapi_document

    document = openapi_document(meta_handler.every_route())
    keyless = {
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if operation.get("security") == []
    }

    # the catch-all route is no operation of the document: it is every route's 404
    assert keyless == PUBLIC_ROUTES - {CATCH_ALL_ROUTE}
    assert document["security"] == [{"apiKey": []}]


def test_functions_run_python313_with_tracing_json_logs_and_the_layer() -> None:
    template = load_template()
    globals_ = template["Globals"]["Function"]
    assert globals_["Runtime"] == "python3.13"
    assert globals_["Tracing"] == "Active"
    assert globals_["LoggingConfig"]["LogFormat"] == "JSON"
    assert globals_["Layers"] == [{"Ref": "ProviderLayer"}]
    assert set(globals_["Environment"]["Variables"]) >= {"TABLE_NAME", "SECRETS_PREFIX", "POWERTOOLS_SERVICE_NAME"}
    (layer,) = resources("AWS::Serverless::LayerVersion").values()
    assert layer["Metadata"] == {"BuildMethod": "python3.13"}
    assert layer["Properties"]["ContentUri"] == "layers/chatbridge"


def test_policies_are_scoped_to_the_table_and_the_secret_prefix() -> None:
    for name, function in resources("AWS::Serverless::Function").items():
        for policy in function["Properties"].get("Policies", []):
            for statement in policy["Statement"]:
                resources_ = (
                    statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                )
                assert "*" not in resources_, name
                for action in statement["Action"]:
                    assert not action.endswith(":*"), (name, action)
                    if action.startswith("secretsmanager:"):
                        # the whole prefix, or a narrower part of it (e.g. only ${SecretsPrefix}/callbacks)
                        prefix = (
                            "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}"
                            ":secret:${SecretsPrefix}/"
                        )
                        assert len(resources_) == 1, name
                        assert resources_[0]["Fn::Sub"].startswith(prefix), name
                    assert action != "dynamodb:Scan", name


def test_every_handler_module_is_unique_and_importable() -> None:
    infos = functions().values()
    modules = [info.module for info in infos]
    assert len(modules) == len(set(modules))
    for info in infos:
        assert (info.code_uri / f"{info.module}.py").is_file()
        assert callable(getattr(importlib.import_module(info.module), info.attribute))


def test_outputs_give_the_api_url() -> None:
    assert "ApiUrl" in load_template()["Outputs"]


# -- issue 12: guard rails ------------------------------------------------------------------------


def _function_environment(name: str) -> dict[str, object]:
    """A function's environment as SAM builds it: Globals' variables, then the function's own."""
    template = load_template()
    merged = dict(template["Globals"]["Function"]["Environment"]["Variables"])
    merged.update(
        ((resources("AWS::Serverless::Function")[name]["Properties"].get("Environment") or {}).get("Variables")) or {}
    )
    return merged


def test_x_ray_records_no_handler_response_in_any_function() -> None:
    for name in resources("AWS::Serverless::Function"):
        assert _function_environment(name).get("POWERTOOLS_TRACER_CAPTURE_RESPONSE") == "false", name


def test_the_authorizer_cache_bounds_revocation_to_60_seconds() -> None:
    from chatbridge.logic.api_keys import IN_FUNCTION_CACHE_SECONDS, REVOCATION_BOUND_SECONDS

    (api,) = resources("AWS::Serverless::HttpApi").values()
    auth = api["Properties"]["Auth"]
    ttl = auth["Authorizers"][auth["DefaultAuthorizer"]]["Identity"]["ReauthorizeEvery"]
    assert 0 < ttl + IN_FUNCTION_CACHE_SECONDS <= REVOCATION_BOUND_SECONDS == 60


def test_every_guarded_route_has_exactly_one_declared_scope() -> None:
    from chatbridge.access import ROUTE_SCOPES, SCOPES

    assert set(ROUTE_SCOPES) == {r.route_key for r in http_routes() if not r.public}
    assert set(ROUTE_SCOPES.values()) <= set(SCOPES)


def test_the_stage_is_throttled_by_parameters_with_its_own_limit_for_callbacks() -> None:
    template = load_template()
    params = template["Parameters"]
    (api,) = resources("AWS::Serverless::HttpApi").values()
    props = api["Properties"]
    assert props["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"},
    }
    assert props["RouteSettings"] == {
        "POST /v1/callbacks/{provider}/{token}": {
            "ThrottlingRateLimit": {"Ref": "CallbacksThrottlingRateLimit"},
            "ThrottlingBurstLimit": {"Ref": "CallbacksThrottlingBurstLimit"},
        }
    }
    for name in ("ApiThrottlingRateLimit", "ApiThrottlingBurstLimit", "CallbacksThrottlingRateLimit"):
        # below the account's 10,000 requests/s, so one stack cannot starve the others
        assert 0 < params[name]["Default"] < 10_000
    assert params["ApiThrottlingBurstLimit"]["Default"] >= params["ApiThrottlingRateLimit"]["Default"]


def test_reserved_concurrency_is_a_parameter_where_0_means_unreserved() -> None:
    template = load_template()
    assert template["Parameters"]["ReservedConcurrency"]["Default"] == 0
    assert template["Conditions"]["ReservesConcurrency"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ReservedConcurrency"}, 0]}]
    }
    assert template["Globals"]["Function"]["ReservedConcurrentExecutions"] == {
        "Fn::If": ["ReservesConcurrency", {"Ref": "ReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
    }


def test_api_access_log_is_json_in_a_declared_group_and_names_no_key_or_token() -> None:
    import json

    (api,) = resources("AWS::Serverless::HttpApi").values()
    settings = api["Properties"]["AccessLogSettings"]
    assert settings["DestinationArn"] == {"Fn::GetAtt": "ApiAccessLogGroup.Arn"}
    fields = json.loads(settings["Format"])
    assert fields["requestId"] == "$context.requestId"
    assert fields["routeKey"] == "$context.routeKey"
    assert fields["status"] == "$context.status"
    assert fields["keyId"] == "$context.authorizer.key_id"
    assert fields["latencyMs"] == "$context.responseLatency"
    # the path holds callback tokens; headers and the identity source hold keys
    for forbidden in ("$context.path", "header", "apiKey", "identitySource", "querystring"):
        assert forbidden not in settings["Format"]


def test_every_log_group_is_declared_with_the_retention_parameter() -> None:
    template = load_template()
    assert template["Parameters"]["LogRetentionDays"]["Default"] == 30
    groups = resources("AWS::Logs::LogGroup")
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    for name, function in resources("AWS::Serverless::Function").items():
        target = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert target in groups, name
    assert "ApiAccessLogGroup" in groups


def test_the_data_survives_the_stack() -> None:
    for name in ("ChatbridgeTable", "CredentialsKey", "EventsDeadLetterQueue"):
        resource = load_template()["Resources"][name]
        assert resource["DeletionPolicy"] == "Retain", name
        assert resource["UpdateReplacePolicy"] == "Retain", name


def test_every_checkov_skip_in_the_template_gives_a_reason() -> None:
    import re

    from local.template import TEMPLATE_PATH

    skips = re.findall(r"checkov:skip=([A-Z0-9_]+)(?::(.*))?", TEMPLATE_PATH.read_text(encoding="utf-8"))
    assert skips
    for check, reason in skips:
        assert len((reason or "").strip()) >= 40, check
