"""Registration requests (one variant per provider, discriminated on `provider`) and resources."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    StringConstraints,
    Tag,
    field_validator,
)

from chatbridge.models.iso_codes import COUNTRY_CODES, LANGUAGE_CODES

ConnectionName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$"),
    Field(description="Credential set to use: the secret `chatbridge/<provider>/<connection>`."),
]
Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
JsonScalar = str | int | float | bool | None


class SmartRegionRegistrationRequest(BaseModel):
    """Register a bot user at SmartRegion (`POST /registration`)."""

    model_config = ConfigDict(
        extra="forbid",
        title="SmartRegionRegistration",
        json_schema_extra={
            "examples": [
                {
                    "provider": "smartregion",
                    "user_id": "pntr54355430-dfbdb43-43t34mmljbd",
                    "payload": "6DNKKF_Pg9JNQsf7VixuOzO47xHxZJ6",
                    "user_field": {"name": "Ivan", "lastname": "Ivanov", "gender": "Male"},
                }
            ]
        },
    )

    provider: Literal["smartregion"]
    connection: ConnectionName = "default"
    user_id: Identifier = Field(description="Unique in the channel; SmartRegion returns it in events.")
    payload: Annotated[str, StringConstraints(min_length=1, max_length=2048)] = Field(
        description="The payload the bot received from the registration link (e.g. `?start=PAYLOAD`)."
    )
    user_field: dict[Annotated[str, StringConstraints(min_length=1, max_length=64)], JsonScalar] | None = Field(
        default=None, max_length=50, description="Custom key/value fields: name, gender, phone..."
    )
    channel_id: Identifier | None = Field(default=None, description="Defaults to the connection's channel_id.")
    project_id: Identifier | None = Field(default=None, description="Defaults to the connection's project_id.")


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
# Deliberately simple: local@domain.tld, no spaces. Providers run their own stricter checks.
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
PHONE_DIGITS = re.compile(r"^[1-9][0-9]{6,14}$")


def _email(value: str) -> str:
    if len(value) > 254 or not EMAIL_PATTERN.match(value):
        raise ValueError("not a valid e-mail address (expected name@domain.tld)")
    return value


def _country(value: str) -> str:
    if value.upper() not in COUNTRY_CODES:
        raise ValueError("not an ISO 3166-1 alpha-2 country code (e.g. BG, FR)")
    return value.upper()


def _language(value: str) -> str:
    if value.lower() not in LANGUAGE_CODES:
        raise ValueError("not an ISO 639-1 language code (e.g. FR, EN)")
    return value.upper()  # as the Smartico document sends it ("FR")


def _phone_digits(value: object) -> object:
    """`+33 6 70 00 00 00` -> `33670000000`: international format, digits only, as Bi-way shows it."""
    if isinstance(value, str):
        value = re.sub(r"[\s.()-]", "", value).removeprefix("+")
    return value


def _phone(value: str) -> str:
    if not PHONE_DIGITS.match(value):
        raise ValueError("not an international phone number (country code first, e.g. 33670000000)")
    return value


Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True),
    AfterValidator(_email),
    Field(json_schema_extra={"format": "email"}),
]
CountryCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=2, max_length=2),
    AfterValidator(_country),
    Field(description="ISO 3166-1 alpha-2 country code.", examples=["FR"]),
]
LanguageCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=2, max_length=2),
    AfterValidator(_language),
    Field(description="ISO 639-1 language code.", examples=["FR"]),
]
Phone = Annotated[str, BeforeValidator(_phone_digits), AfterValidator(_phone)]
WebUrl = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2048, pattern=r"^https?://\S+$")]
ProviderAttributes = Annotated[
    dict[Annotated[str, StringConstraints(min_length=1, max_length=64)], Any],
    Field(max_length=50),
]


class SmarticoRegistrationRequest(BaseModel):
    """Register an affiliate at Smartico (`POST /api/register-aff`).

    `hostname` comes from the connection's secret. The password is sent to Smartico and nowhere
    else: it is never stored, logged or returned.
    """

    model_config = ConfigDict(
        extra="forbid",
        defer_build=True,
        title="SmarticoRegistration",
        json_schema_extra={
            "examples": [
                {
                    "provider": "smartico",
                    "first_name": "Maria",
                    "last_name": "Ivanova",
                    "username": "maria.affiliate",
                    "password": "Q!w2e3r4",
                    "bo_user_email": "maria@example.com",
                    "country": "BG",
                    "language": "FR",
                    "tc": True,
                    "token": "03AGdBq261a4cR1-w32PCilF0nq04_cjKIl8T6OeWlAnC4fWfYu94Mw6VIEdazhg",
                    "phone_number": "44097657269",
                    "company": "Astelit",
                    "web_site_url": "https://example.com",
                    "manager_id": 12,
                }
            ]
        },
    )

    provider: Literal["smartico"]
    connection: ConnectionName = "default"
    first_name: Text
    last_name: Text
    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=6, max_length=100)] = Field(
        description="At least 6 characters; unique at Smartico. Also the `user_id` to find the registration."
    )
    password: SecretStr = Field(
        description="At least 6 characters with a lowercase letter, an uppercase letter and a digit. "
        "Sent to Smartico only: never stored, logged or returned."
    )
    bo_user_email: Email = Field(description="The affiliate's e-mail; unique at Smartico.")
    country: CountryCode
    tc: bool = Field(description="The affiliate accepted the terms and conditions: must be true.")
    token: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4096)] = Field(
        description="Google reCAPTCHA token from the registration page (action `affregistration`)."
    )
    language: LanguageCode | None = None
    phone_number: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9]{6,15}$")] | None = None
    skype: Text | None = None
    company: Text | None = None
    web_site_url: WebUrl | None = None
    comments: LongText | None = None
    parent_affiliate_id: int | None = Field(default=None, ge=1, description="Makes the affiliate its child.")
    manager_id: int | None = Field(
        default=None, ge=1, description="Assigns a manager, which approves the affiliate at once (else pending)."
    )
    contact_fb: Text | None = None
    contact_vk: Text | None = None
    contact_telegram: Text | None = None
    extra_role_ids: list[Annotated[int, Field(ge=1)]] | None = Field(default=None, max_length=50)
    ext_affiliate_id: Text | None = Field(default=None, description="The affiliate's id in your own system.")

    @field_validator("password")
    @classmethod
    def _password_strength(cls, value: SecretStr) -> SecretStr:
        # Smartico's PASSWORD_STRENGTH rule, checked here so a weak password never leaves the gateway.
        password = value.get_secret_value()
        missing = [
            rule
            for rule, ok in (
                ("at least 6 characters", len(password) >= 6),
                ("a lowercase letter", any(c.islower() for c in password)),
                ("an uppercase letter", any(c.isupper() for c in password)),
                ("a digit", any(c.isdigit() for c in password)),
            )
            if not ok
        ]
        if missing:
            raise ValueError("password needs " + ", ".join(missing))
        if len(password) > 128:
            raise ValueError("password is longer than 128 characters")
        return value

    @field_validator("tc")
    @classmethod
    def _terms_accepted(cls, value: bool) -> bool:
        if value is not True:
            raise ValueError("the affiliate must accept the terms and conditions (tc: true)")
        return value


class ImbeeRegistrationRequest(BaseModel):
    """Create an external user at Imbee (`POST /third_parties/user/new`).

    Imbee answers with the user's `pass` and `apikey`: they are stored encrypted, used to open
    chats on the user's behalf, and never returned.
    """

    model_config = ConfigDict(
        extra="forbid",
        defer_build=True,
        title="ImbeeRegistration",
        json_schema_extra={
            "examples": [
                {
                    "provider": "imbee",
                    "unique_id_sha": "5d41402abc4b2a76b9719d911017c592",
                    "platform": "web",
                    "device_name": "chatbot",
                    "hardware_id": "hw-0001",
                    "os_version": "1.0",
                }
            ]
        },
    )

    provider: Literal["imbee"]
    connection: ConnectionName = "default"
    unique_id_sha: Identifier = Field(
        description="Your unique identifier of the user (sent as `uniqueIdSha`); also its `user_id` here."
    )
    platform: Text | None = Field(default=None, description="Sent as `platform`.")
    device_name: Text | None = Field(default=None, description="Sent as `deviceName`.")
    hardware_id: Text | None = Field(default=None, description="Sent as `hardwareId`.")
    os_version: Text | None = Field(default=None, description="Sent as `osVersion`.")


BIWAY_ATTRIBUTES_DESCRIPTION = (
    "Further fields forwarded to Bi-way as they are (its guide publishes no field list); "
    "the typed fields above win over a key of the same name."
)


class BiwayCompanyRegistrationRequest(BaseModel):
    """Create an establishment record (fiche établissement) from the partner account (`POST /client/company`).

    Bi-way places it in pending verification; the state changes arrive as callbacks.
    """

    model_config = ConfigDict(
        extra="forbid",
        defer_build=True,
        title="BiwayCompanyRegistration",
        json_schema_extra={
            "examples": [
                {
                    "provider": "biway",
                    "kind": "company",
                    "name": "Boulangerie Martin",
                    "siret": "73282932000074",
                    "address": "12 rue de la Paix",
                    "postal_code": "75002",
                    "city": "Paris",
                    "country": "FR",
                    "email": "contact@boulangerie-martin.fr",
                }
            ]
        },
    )

    provider: Literal["biway"]
    kind: Literal["company"]
    connection: ConnectionName = Field(default="default", description="A Bi-way partner connection.")
    name: Text
    siret: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{14}$")] = Field(
        description="The establishment's SIRET (14 digits); also its `user_id` here."
    )
    address: Text | None = None
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)] | None = None
    city: Text | None = None
    country: CountryCode | None = None
    phone: Phone | None = None
    email: Email | None = None
    website: WebUrl | None = None
    attributes: ProviderAttributes | None = Field(default=None, description=BIWAY_ATTRIBUTES_DESCRIPTION)


class BiwayAccountRegistrationRequest(BaseModel):
    """Create a user account from the partner account (`POST /system/account`).

    Bi-way places it in pending verification (and may require an activation); the state changes
    arrive as callbacks.
    """

    model_config = ConfigDict(
        extra="forbid",
        defer_build=True,
        title="BiwayAccountRegistration",
        json_schema_extra={
            "examples": [
                {
                    "provider": "biway",
                    "kind": "account",
                    "email": "jeanne.martin@boulangerie-martin.fr",
                    "first_name": "Jeanne",
                    "last_name": "Martin",
                    "company_id": "cmp_5f0c2d",
                }
            ]
        },
    )

    provider: Literal["biway"]
    kind: Literal["account"]
    connection: ConnectionName = Field(default="default", description="A Bi-way partner connection.")
    email: Email = Field(description="The account's login e-mail; also its `user_id` here.")
    first_name: Text | None = None
    last_name: Text | None = None
    phone: Phone | None = None
    company_id: Text | None = Field(default=None, description="Bi-way's id of the account's establishment.")
    attributes: ProviderAttributes | None = Field(default=None, description=BIWAY_ATTRIBUTES_DESCRIPTION)


class BiwayTesterRegistrationRequest(BaseModel):
    """Register an RCS tester of an active chat environment (`POST /messenger/rcs-tester`).

    Bi-way sends a special RCS message the person accepts by hand; until then the tester is
    pending, and the state changes arrive as callbacks.
    """

    model_config = ConfigDict(
        extra="forbid",
        defer_build=True,
        title="BiwayTesterRegistration",
        json_schema_extra={
            "examples": [{"provider": "biway", "kind": "tester", "agent_id": "agt_demo", "phone": "+33670000000"}]
        },
    )

    provider: Literal["biway"]
    kind: Literal["tester"]
    connection: ConnectionName = Field(default="default", description="A Bi-way user (standard) connection.")
    agent_id: Text = Field(description="Bi-way's id of the active chat environment (agent) to test.")
    phone: Phone = Field(
        description="The tester's mobile number, international format; stored as digits only "
        "(`+33 6 70 00 00 00` -> `33670000000`), which is its `user_id` here."
    )
    attributes: ProviderAttributes | None = Field(default=None, description=BIWAY_ATTRIBUTES_DESCRIPTION)


BiwayRegistrationRequest = Annotated[
    BiwayCompanyRegistrationRequest | BiwayAccountRegistrationRequest | BiwayTesterRegistrationRequest,
    Field(discriminator="kind"),
]


def _provider_of(body: Any) -> Any:
    return body.get("provider") if isinstance(body, dict) else getattr(body, "provider", None)


# Validation errors name the discriminator by this function's name: it is the field to fix.
_provider_of.__name__ = "provider"

# The outer union is told apart by a function, not by `Field(discriminator="provider")`: with a
# nested union (Bi-way's kinds) pydantic would put an inline schema in the OpenAPI discriminator
# mapping, which OpenAPI forbids. Each variant is still documented (oneOf), Bi-way's with its mapping.
RegistrationRequest = Annotated[
    Annotated[SmartRegionRegistrationRequest, Tag("smartregion")]
    | Annotated[SmarticoRegistrationRequest, Tag("smartico")]
    | Annotated[ImbeeRegistrationRequest, Tag("imbee")]
    | Annotated[BiwayRegistrationRequest, Tag("biway")],
    Discriminator(_provider_of),
]
REGISTRATION_PROVIDERS = ("smartregion", "smartico", "imbee", "biway")
BIWAY_REGISTRATION_KINDS = ("company", "account", "tester")
# Validation errors locate a field under the union tags (`biway.company.name`); problems strip them.
REGISTRATION_BODY_TAGS = (*REGISTRATION_PROVIDERS, *(f"biway.{kind}" for kind in BIWAY_REGISTRATION_KINDS))


def registration_examples() -> dict[str, dict[str, Any]]:
    """One OpenAPI request example per variant, taken from the models themselves."""
    variants: list[tuple[str, type[BaseModel]]] = [
        ("SmartRegion user", SmartRegionRegistrationRequest),
        ("Smartico affiliate", SmarticoRegistrationRequest),
        ("Imbee external user", ImbeeRegistrationRequest),
        ("Bi-way company (partner)", BiwayCompanyRegistrationRequest),
        ("Bi-way account (partner)", BiwayAccountRegistrationRequest),
        ("Bi-way RCS tester (user)", BiwayTesterRegistrationRequest),
    ]
    examples: dict[str, dict[str, Any]] = {}
    for summary, model in variants:
        extra = model.model_config.get("json_schema_extra")
        listed = extra.get("examples") if isinstance(extra, dict) else None
        value = listed[0] if isinstance(listed, list) and listed else None
        examples[str(model.model_config.get("title", model.__name__))] = {"summary": summary, "value": value}
    return examples


class Presence(BaseModel):
    """Where SmartRegion last reported the user, from its presence webhooks."""

    state: str = Field(description="detected, connected or disconnected")
    last_seen_at: datetime
    event_id: str = Field(description="The event that set it: see GET /v1/events?registration_id=")


class Registration(BaseModel):
    """A registration as the API returns it."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "0d4f1e1e-8a7b-5c55-9d36-2b0d8f0f5a11",
                "provider": "smartregion",
                "connection": "default",
                "status": "registered",
                "provider_ref": None,
                "user_id": "pntr54355430-dfbdb43-43t34mmljbd",
                "details": {"channel_id": "ch-1", "project_id": "pr-1", "last_outcome": "created"},
                "created_at": "2026-11-27T10:00:00Z",
                "updated_at": "2026-11-27T10:00:00Z",
            }
        }
    )

    id: str
    provider: str
    connection: str
    status: str
    provider_ref: str | None = None
    user_id: str
    details: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime
    presence: Presence | None = Field(default=None, description="SmartRegion only, once a presence event arrived.")


class RegistrationPage(BaseModel):
    items: list[Registration]
    next_token: str | None = Field(default=None, description="Pass back as `next_token` for the next page.")


class RegistrationOutcome(BaseModel):
    """What the logic returns; also what an idempotent replay returns."""

    created: bool
    registration: Registration
