"""An API error body is redacted before it is shortened: no part of a secret reaches a message, also when the cut
(ours, or one made before the body reached us) falls inside the secret."""

from rr_pulumi.api.errors import REDACTED, error_from_response

SECRET = "sk-live-" + "7" * 40


def test_a_secret_across_the_300_character_cut_is_redacted_whole():
    body = "x" * 280 + f" key {SECRET} rejected"  # the cut at 300 falls inside the secret
    error = error_from_response("POST", "/api/clients/c1/credentials", 500, body, secrets=[SECRET])
    text = str(error)
    assert "sk-live-7" not in text and "7777" not in text
    assert REDACTED[:5] in text


def test_an_echoed_credential_secret_object_cut_short_is_redacted():
    body = "x" * 250 + ' {"credentialSecret": {"apiKey": "' + "q" * 80 + '"}}'
    text = str(error_from_response("POST", "/p", 500, body))
    assert "qqqq" not in text


def test_a_body_that_ends_inside_a_known_secret_is_redacted():
    body = "upstream said: bad key " + SECRET[:20]  # cut short before it reached us
    text = str(error_from_response("POST", "/p", 502, body, secrets=[SECRET]))
    assert SECRET[:12] not in text and text.endswith(REDACTED)


def test_an_unclosed_echoed_secret_object_is_redacted_to_the_end():
    body = 'failed: {"credentialSecret": {"apiKey": "abcdefgh'
    text = str(error_from_response("POST", "/p", 502, body))
    assert "abcdefgh" not in text
