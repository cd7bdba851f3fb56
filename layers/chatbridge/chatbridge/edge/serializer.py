"""Answers as UTF-8 JSON: characters as themselves, never `\\u0417`-escaped, and always sendable.

JSON is UTF-8 by definition (RFC 8259 §8.1), and `application/json` has no `charset` parameter
(§11), so answers keep their media types as they are; only the escaping goes. A provider can hand
us a lone surrogate (`"\\ud800"` in its JSON, which Python's parser accepts): as a character it
cannot be encoded in UTF-8, and the Lambda runtime would fail the whole answer. Each one becomes
U+FFFD, the replacement character, so the rest of the answer arrives intact.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aws_lambda_powertools.shared.json_encoder import Encoder

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT_CHARACTER = "\ufffd"


def sendable(text: str) -> str:
    """`text` with every lone surrogate replaced, so it encodes as UTF-8."""
    return text if text.isascii() else _LONE_SURROGATE.sub(REPLACEMENT_CHARACTER, text)


def json_text(value: Any) -> str:
    """Compact UTF-8 JSON of `value` (pydantic models, dataclasses and Decimals as Powertools encodes them)."""
    return sendable(json.dumps(value, separators=(",", ":"), ensure_ascii=False, cls=Encoder))
