"""Field types the public request models share (every integration's `requests` module uses them)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from chatbridge.models.base import Model
from chatbridge.models.iso_codes import COUNTRY_CODES, LANGUAGE_CODES

ConnectionName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$"),
    Field(description="Credential set to use: the secret `chatbridge/<provider>/<connection>`."),
]
Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
JsonScalar = str | int | float | bool | None


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
PhoneDigits = Annotated[str, BeforeValidator(_phone_digits), AfterValidator(_phone)]
WebUrl = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2048, pattern=r"^https?://\S+$")]
ProviderAttributes = Annotated[
    dict[Annotated[str, StringConstraints(min_length=1, max_length=64)], Any],
    Field(max_length=50),
]


Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 ().-]{3,30}$"),
    Field(description="Phone number, preferably E.164 (`+33670000000`)."),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
MAX_CONVERSATION_RECIPIENTS = 50


class ProviderRequest(Model):
    """What every request body that targets a provider carries (each variant declares its own)."""

    provider: str
    connection: str = "default"
