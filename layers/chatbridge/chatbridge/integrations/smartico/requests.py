"""Smartico's public request models, with their OpenAPI examples."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, field_validator

from chatbridge.models.base import Model
from chatbridge.models.fields import ConnectionName, CountryCode, Email, LanguageCode, LongText, Text, WebUrl


class SmarticoRegistrationRequest(Model):
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


REGISTRATION_REQUEST = SmarticoRegistrationRequest
MESSAGING_REQUESTS: dict[str, type[BaseModel]] = {}
# What the API reference says of this provider, per operation.
NOTES: dict[str, str] = {
    "registrations": (
        "registers an affiliate (201); `pending_approval` unless `manager_id` is given (`approved`). "
        "Duplicate username or e-mail: 409. The password is never stored or returned."
    ),
}
