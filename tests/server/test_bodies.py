"""Malformed bodies: every one is a 4xx with the JSON error envelope (the issue's two 500s, then a fuzz test)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinyguardrail.server.app import create_app
from tinyguardrail.server.body import MAX_DEPTH, BodyError, nesting_depth, parse_json
from tinyguardrail.server.settings import Settings

ENDPOINTS = ("/v1/check", "/v1/check/batch", "/v1/bits")


def assert_error_envelope(response, status: int | None = None) -> str:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if status is not None:
        assert response.status_code == status, response.text[:300]
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    return body["error"]["code"]


@pytest.fixture(scope="module")
def big_client(server_guard):
    """Bodies up to 1 MiB, so the parser (not the size limit) meets the hostile ones."""
    with TestClient(create_app(Settings(max_body_bytes=1 << 20, max_text_chars=500, max_batch=8,
                                        inference_workers=1, batch_wait_ms=0), guard=server_guard)) as client:
        yield client


# ------------------------------------------------------------------------------------------------ the cases


@pytest.mark.parametrize("path", ENDPOINTS)
def test_200kb_of_nested_brackets_is_400(big_client, path):
    r = big_client.post(path, content=b"[" * 100_000 + b"]" * 100_000, headers={"content-type": "application/json"})
    assert assert_error_envelope(r, 400) == "json_too_deep"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_integer_of_5001_digits_is_400(big_client, path):
    r = big_client.post(path, content=b'{"text": ' + b"7" * 5001 + b"}", headers={"content-type": "application/json"})
    assert assert_error_envelope(r, 400) == "number_too_long"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"text": "a", "extra": ' + b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1) + b"}", "json_too_deep"),
        (b'{"text": "a", "x": 1.' + b"5" * 100 + b"}", "number_too_long"),
        (b'{"text": NaN}', "invalid_json"),
        (b'{"text": Infinity}', "invalid_json"),
        (b"", "invalid_json"),
        (b"\xef\xbb\xbf{}", "invalid_json"),  # a UTF-8 byte-order mark
        (b'{"text": "\xff"}', "invalid_utf8"),
        (b'[' * 10_000, "json_too_deep"),  # unbalanced too
        (b'{"text": "unterminated [[[[[[', "invalid_json"),
    ],
)
def test_other_malformed_bodies_are_400(big_client, body, code):
    assert assert_error_envelope(big_client.post("/v1/check", content=body), 400) == code


def test_brackets_inside_strings_do_not_count(big_client):
    text = "[" * 200 + "{" * 200 + '\\"]'
    r = big_client.post("/v1/check", content=json.dumps({"text": text}).encode())
    assert r.status_code == 200, r.text


def test_acceptable_nesting_and_numbers_reach_validation(big_client):
    nested = {"text": "hello world", "extra": json.loads("[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1))}
    assert big_client.post("/v1/check", json=nested).status_code == 200  # extra fields are ignored
    assert_error_envelope(big_client.post("/v1/check", json={"text": 12345}), 422)


# ------------------------------------------------------------------------------------------------ the depth scanner


@pytest.mark.parametrize(
    ("raw", "depth"),
    [
        (b"", 0), (b"1", 0), (b"{}", 1), (b'{"a": [1, {"b": [2]}]}', 4), (b'"[[[["', 0), (b'["\\"[["]', 1),
        (b'["\\\\"]', 1), (b'["\\\\\\"[["]', 1), (b"]]]", 0), (b'[[[ "unterminated [[[[', 3),
    ],
)
def test_nesting_depth(raw, depth):
    assert nesting_depth(raw) == depth


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab'),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                    max_leaves=20))
def test_nesting_depth_matches_the_document(value):
    def depth(v) -> int:
        if isinstance(v, list):
            return 1 + max((depth(x) for x in v), default=0)
        if isinstance(v, dict):
            return 1 + max((depth(x) for x in v.values()), default=0)
        return 0

    assert nesting_depth(json.dumps(value).encode()) == depth(value)


def test_parse_json_raises_only_body_errors():
    for raw in (b"[" * 5000, b"1" * 5000, b'{"a": -' + b"9" * 70 + b"}", b"\x80", b"nul"):
        with pytest.raises(BodyError):
            parse_json(raw)
    assert parse_json(b'{"texts": ["a", "b"], "n": 1.5}') == {"texts": ["a", "b"], "n": 1.5}


# ------------------------------------------------------------------------------------------------ fuzz


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["text", "texts", "x"]) | st.text(max_size=5),
                                                                inner, max_size=4),
    max_leaves=30,
)
BODIES = st.one_of(
    st.binary(max_size=300),
    st.text(alphabet='[]{}",:0123456789-+.eE \\ntruefalsnNaI', max_size=300).map(str.encode),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.builds(lambda prefix, cut: json.dumps({"text": prefix}).encode()[:cut], st.text(max_size=30),
              st.integers(0, 40)),  # truncated valid requests
    st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(1, 6000).map(lambda n: b'{"text": ' + b"9" * n + b"}"),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(path=st.sampled_from(ENDPOINTS), body=BODIES)
def test_fuzzed_bodies_never_give_a_5xx(big_client, path, body):
    r = big_client.post(path, content=body, headers={"content-type": "application/json"})
    if r.status_code >= 400:
        assert_error_envelope(r)
    else:
        assert r.status_code == 200
