"""The seeded fixtures: one definition of the account, credentials and provider simulators that
`events/` and its `_expected.json` files describe.

Used by the local stack's seeded mode (`LocalStack(seeded=True)`, `python -m local.dev --seeded`,
`make sam-local`) and by the in-process test of every event file (tests/unit/test_event_files.py),
so an event file that passes in-process passes against the stack the SAM CLI invokes, and the
other way round. Everything here is a local fixture: the API key and webhook tokens are known on
purpose and are only ever accepted by a seeded local stack.

What the event files rely on:
- API key `SEED_API_KEY` (name `seeded`): the authorizer event carries it, every authenticated
  API event carries it and its `key_id` in `requestContext.authorizer.lambda` (message ids are
  derived from that key id and the Idempotency-Key, so `messaging/get_message.json` names the
  message `messaging/post_biway_message.json` creates);
- webhook tokens `SEED_CALLBACK_TOKENS` in the paths of `events/callbacks/post_*.json`;
- SmartRegion project `demo-project` with channels `demo-channel` (the connection's default) and
  `demo-channel-2` (`post_smartregion_explicit_channel.json`), so `registrations/get_by_id.json`
  names `derived_id("smartregion", "demo-project", "demo-channel", "tg-100500")`;
- Watbot contacts 1, 2 and 3; the Bi-way demo key (partner and user) with its agent `agt_demo`;
  Smartico's demo hostname; Imbee's demo credentials.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from local.ports import LOOPBACK
from local.simulators.biway import DEMO_API_KEY as BIWAY_DEMO_API_KEY
from local.simulators.biway import PARTNER, USER, BiwaySimulator
from local.simulators.imbee import DEMO_AUTH as IMBEE_DEMO_AUTH
from local.simulators.imbee import DEMO_CORPORATE_TOKEN as IMBEE_DEMO_CORPORATE_TOKEN
from local.simulators.imbee import ImbeeSimulator
from local.simulators.serving import Simulator
from local.simulators.smartico import DEMO_HOSTNAME as SMARTICO_DEMO_HOSTNAME
from local.simulators.smartico import SmarticoSimulator
from local.simulators.smartregion import DEMO_API_KEY as SMARTREGION_DEMO_API_KEY
from local.simulators.smartregion import DEMO_CHANNEL, DEMO_PROJECT, SmartRegionSimulator
from local.simulators.watbot import DEFAULT_RATE_LIMIT as WATBOT_RATE_LIMIT
from local.simulators.watbot import DEMO_TOKEN as WATBOT_DEMO_TOKEN
from local.simulators.watbot import WatbotSimulator, seed_demo_contacts
from local.template import create_table

if TYPE_CHECKING:
    from local.connections import Connections

REGION = "eu-west-1"
TABLE_NAME = "chatbridge-local"
SECRETS_PREFIX = "chatbridge"
# The key sealing provider-issued credentials, created in moto's KMS (template.yaml: CredentialsKey).
CREDENTIALS_KEY_ALIAS = "alias/chatbridge-credentials"
# The key sealing pagination tokens (template.yaml: PageTokenKey).
PAGE_TOKEN_KEY_ALIAS = "alias/chatbridge-page-tokens"
# template.yaml WebhookSecretsKey: seals the signing secrets of webhook subscriptions
WEBHOOK_SECRETS_KEY_ALIAS = "alias/chatbridge-webhook-secrets"

SEED_API_KEY = "cbk_seeded-local-stack-key-accepted-by-seeded-stacks-only"
SEED_API_KEY_NAME = "seeded"
SEED_CALLBACK_TOKENS: Mapping[str, str] = {
    "smartregion": "sr-seeded-callback-token",
    "biway": "bw-seeded-callback-token",
}
SMARTREGION_PROJECT = DEMO_PROJECT
SMARTREGION_CHANNELS = (DEMO_CHANNEL, "demo-channel-2")  # the first is the connection's default
PROVIDERS = ("smartregion", "watbot", "smartico", "imbee", "biway")


def key_id(key: str) -> str:
    """The id the authorizer reports for a key (chatbridge.logic.api_keys: the hash's first 12)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def random_callback_tokens() -> dict[str, str]:
    """Webhook tokens of an unseeded stack (`make dev`): unguessable, new at every start."""
    return {provider: secrets.token_urlsafe(24) for provider in SEED_CALLBACK_TOKENS}


@dataclass
class Simulators:
    """One simulator per provider, configured as the seed says (not started)."""

    smartregion: SmartRegionSimulator
    watbot: WatbotSimulator
    smartico: SmarticoSimulator
    imbee: ImbeeSimulator
    biway: BiwaySimulator

    def by_provider(self) -> dict[str, Simulator]:
        return {provider: getattr(self, provider) for provider in PROVIDERS}

    def start(self) -> Simulators:
        for simulator in self.by_provider().values():
            simulator.start()
        return self

    def stop(self) -> None:
        for simulator in self.by_provider().values():
            simulator.stop()

    def base_urls(self) -> dict[str, str]:
        """provider -> the started simulator's URL."""
        return {provider: simulator.url for provider, simulator in self.by_provider().items()}


def simulators(host: str = LOOPBACK, *, rate_limited: bool = True, biway_state_delay: float = 1.0) -> Simulators:
    """The seeded simulators. `rate_limited=False` drops Watbot's 2 requests/s (in-process tests)."""
    watbot = WatbotSimulator({WATBOT_DEMO_TOKEN}, rate_limit=WATBOT_RATE_LIMIT if rate_limited else None, host=host)
    seed_demo_contacts(watbot)  # contacts 1, 2 and 3, which events/contacts/ name
    return Simulators(
        smartregion=SmartRegionSimulator(
            {SMARTREGION_PROJECT: {"api_key": SMARTREGION_DEMO_API_KEY, "channels": list(SMARTREGION_CHANNELS)}},
            host=host,
        ),
        watbot=watbot,
        smartico=SmarticoSimulator([SMARTICO_DEMO_HOSTNAME], host=host),
        imbee=ImbeeSimulator(IMBEE_DEMO_AUTH, IMBEE_DEMO_CORPORATE_TOKEN, host=host),
        # state changes a second after a creation: slow enough to watch, fast enough to wait for
        biway=BiwaySimulator(
            {BIWAY_DEMO_API_KEY: frozenset({PARTNER, USER})}, state_delay=biway_state_delay, host=host
        ),
    )


def connection_secrets(
    base_urls: Mapping[str, str], callback_tokens: Mapping[str, str], real: Connections | None = None
) -> dict[str, dict[str, Any]]:
    """Secret name -> value: one `default` connection per provider at `base_urls`, and the webhook tokens.

    A provider named in `real` (a connections file) keeps none of its simulated connections: only
    the file's, so a request can never fall back to the simulator while the operator thinks it is real.
    """
    simulated = _simulated_secrets(base_urls, callback_tokens)
    if real is None:
        return simulated
    kept = {
        name: value
        for name, value in simulated.items()
        if name.split("/")[1] not in real.providers  # <prefix>/<provider>/<connection>
    }
    return {**kept, **real.secret_values(SECRETS_PREFIX)}


def _simulated_secrets(base_urls: Mapping[str, str], callback_tokens: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    prefix = SECRETS_PREFIX
    return {
        f"{prefix}/smartregion/default": {
            "api_key": SMARTREGION_DEMO_API_KEY,
            "project_id": SMARTREGION_PROJECT,
            "channel_id": SMARTREGION_CHANNELS[0],
            "base_url": base_urls["smartregion"],
        },
        f"{prefix}/watbot/default": {"api_token": WATBOT_DEMO_TOKEN, "base_url": base_urls["watbot"]},
        f"{prefix}/smartico/default": {"hostname": SMARTICO_DEMO_HOSTNAME, "base_url": base_urls["smartico"]},
        f"{prefix}/imbee/default": {
            "auth": IMBEE_DEMO_AUTH,
            "corporate_token": IMBEE_DEMO_CORPORATE_TOKEN,
            "base_url": base_urls["imbee"],
        },
        f"{prefix}/biway/default": {"api_key": BIWAY_DEMO_API_KEY, "base_url": base_urls["biway"]},
        f"{prefix}/callbacks": dict(callback_tokens),
    }


def seed_account(
    *,
    dynamodb: Any,
    secretsmanager: Any,
    kms: Any,
    base_urls: Mapping[str, str],
    callback_tokens: Mapping[str, str],
    table_name: str = TABLE_NAME,
    real: Connections | None = None,
) -> None:
    """The table of template.yaml, every connection secret and the KMS keys (by alias).

    `real`: a connections file whose providers replace the simulators' (local/connections.py).
    """
    create_table(dynamodb, table_name)
    for name, value in connection_secrets(base_urls, callback_tokens, real).items():
        secretsmanager.create_secret(Name=name, SecretString=json.dumps(value))
    key = kms.create_key(Description="chatbridge local credentials key")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=CREDENTIALS_KEY_ALIAS, TargetKeyId=key)
    page_key = kms.create_key(Description="chatbridge local page token key")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=PAGE_TOKEN_KEY_ALIAS, TargetKeyId=page_key)
    webhook_key = kms.create_key(Description="chatbridge local webhook signing secrets")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=WEBHOOK_SECRETS_KEY_ALIAS, TargetKeyId=webhook_key)


def put_seed_api_key() -> str:
    """Store `SEED_API_KEY` through the layer's store (the environment must point at the table)."""
    from chatbridge.access import SCOPES
    from chatbridge.clock import utc_now
    from chatbridge.logic.api_keys import hash_key
    from chatbridge.store import get_store
    from chatbridge.store.items import ApiKeyItem

    key_hash = hash_key(SEED_API_KEY)
    # every scope, admin included, as the event files' authorizer contexts say
    item = ApiKeyItem(
        key_hash=key_hash,
        key_id=key_hash[:12],
        name=SEED_API_KEY_NAME,
        created_at=utc_now(),
        scopes=list(SCOPES),
        created_by="seed",
    )
    get_store().put_api_key(item)
    return SEED_API_KEY
