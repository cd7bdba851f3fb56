"""Standard Webhooks signatures, checked with the `standardwebhooks` package (not our code)."""

from __future__ import annotations

import base64
import time

import pytest
import standardwebhooks

from chatbridge.webhooks import signing


def test_a_new_secret_is_whsec_and_32_random_bytes() -> None:
    first, second = signing.new_secret(), signing.new_secret()

    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


def test_standardwebhooks_verifies_our_headers_and_returns_the_body() -> None:
    secret = signing.new_secret()
    body = b'{"type":"biway.message.read","data":{"id":"e1"}}'

    headers = signing.headers("msg_1", int(time.time()), body, [secret])

    assert standardwebhooks.Webhook(secret).verify(body, headers) == {
        "type": "biway.message.read",
        "data": {"id": "e1"},
    }


def test_a_changed_body_id_or_timestamp_fails_verification() -> None:
    secret = signing.new_secret()
    now = int(time.time())
    headers = signing.headers("msg_1", now, b'{"a":1}', [secret])
    verifier = standardwebhooks.Webhook(secret)

    with pytest.raises(standardwebhooks.WebhookVerificationError):
        verifier.verify(b'{"a":2}', headers)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        verifier.verify(b'{"a":1}', {**headers, "webhook-id": "msg_2"})
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        verifier.verify(b'{"a":1}', {**headers, "webhook-timestamp": str(now - 1)})


def test_during_a_rotation_both_secrets_sign_and_either_verifies() -> None:
    old, new = signing.new_secret(), signing.new_secret()
    body = b'{"a":1}'

    headers = signing.headers("msg_1", int(time.time()), body, [new, old])

    assert headers["webhook-signature"].count("v1,") == 2
    for secret in (old, new):
        assert standardwebhooks.Webhook(secret).verify(body, headers) == {"a": 1}
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(signing.new_secret()).verify(body, headers)


def test_the_signature_is_hmac_sha256_of_id_timestamp_and_body() -> None:
    # The example of the Standard Webhooks specification (and of the package's own tests).
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'

    value = signing.signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)

    assert value == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.mark.parametrize("secret", ["whsec_", "whsec_!!!", "whsec_" + base64.b64encode(b"short").decode()])
def test_malformed_secrets_are_refused(secret: str) -> None:
    with pytest.raises(signing.InvalidSecretError):
        signing.signature(secret, "msg_1", 1, b"{}")
