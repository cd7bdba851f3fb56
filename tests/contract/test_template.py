"""template.yaml holds the promises of the design: checked here so they cannot silently drift."""

from __future__ import annotations

import importlib

from local.template import functions, http_routes, load_template, resources

# Provider webhooks authenticate with the token in their URL instead of an API key.
PUBLIC_ROUTES = {"GET /v1/health", "GET /v1/openapi.json", "GET /v1/docs", "POST /v1/callbacks/{provider}/{token}"}


def test_table_has_pitr_sse_ttl_and_a_new_image_stream() -> None:
    (table,) = resources("AWS::DynamoDB::Table").values()
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    assert [k["AttributeName"] for k in props["KeySchema"]] == ["pk", "sk"]
    assert [i["IndexName"] for i in props["GlobalSecondaryIndexes"]] == ["gsi1"]


def test_api_uses_a_cached_lambda_authorizer_on_x_api_key() -> None:
    (api,) = resources("AWS::Serverless::HttpApi").values()
    auth = api["Properties"]["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]
    assert authorizer["Identity"]["Headers"] == ["x-api-key"]
    assert authorizer["Identity"]["ReauthorizeEvery"] > 0
    assert authorizer["EnableSimpleResponses"] is True
    assert authorizer["AuthorizerPayloadFormatVersion"] == "2.0"


def test_only_health_docs_and_openapi_skip_the_authorizer() -> None:
    public = {r.route_key for r in http_routes() if r.public}
    assert public == PUBLIC_ROUTES


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
