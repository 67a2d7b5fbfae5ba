"""The 16-bit response code: table, worked examples, round trips over every 16-bit value."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinyguardrail import codes
from tinyguardrail.codes import ACTIONS, ATTACK_TYPES, ResponseCode, decode, encode, format_code, is_safe, level


def _valid(code: int) -> bool:
    return (code & 0xF) in ATTACK_TYPES and (code >> 12) in ACTIONS


def test_worked_examples_from_the_docstring():
    assert encode("benign", 15, 0, "allow") == 0x00F0 == 240
    assert encode("direct_injection", 14, 13, "block") == 0x3DE1 == 15841
    assert decode(0x3DE1) == ResponseCode(attack_type=1, confidence=14, severity=13, action=3)
    assert decode(0x2A8F).label == "uncertain" and decode(0x2A8F).action_name == "human_review"
    with pytest.raises(ValueError, match="reserved"):
        decode(0x2878)
    assert is_safe(0x00F0) and not is_safe(0x3DE1) and not is_safe(0x2A8F)


def test_bit_layout():
    # one field at a time lands in its own nibble
    assert encode(3, 0, 0, 0) == 0x0003
    assert encode(0, 9, 0, 0) == 0x0090
    assert encode(0, 0, 7, 0) == 0x0700
    assert encode(0, 0, 0, 2) == 0x2000
    assert encode("uncertain", 0, 0, "human_review") == 0x200F


def test_every_16_bit_value_decodes_or_raises_and_round_trips():
    n_valid = 0
    for code in range(1 << 16):
        if _valid(code):
            rc = decode(code)
            assert rc.to_int() == int(rc) == code
            assert encode(rc.attack_type, rc.confidence, rc.severity, rc.action) == code
            assert encode(rc.label, rc.confidence, rc.severity, rc.action_name) == code
            assert rc.is_safe == is_safe(code) == (code & 0xF == 0)
            n_valid += 1
        else:
            with pytest.raises(ValueError):
                decode(code)
    assert n_valid == len(ATTACK_TYPES) * 16 * 16 * len(ACTIONS) == 5120


@given(st.integers(min_value=0, max_value=0xFFFF))
def test_round_trip_property(code):
    if not _valid(code):
        with pytest.raises(ValueError):
            decode(code)
        return
    rc = decode(code)
    assert encode(rc.attack_type, rc.confidence, rc.severity, rc.action) == code


@given(st.sampled_from(sorted(ATTACK_TYPES)), st.integers(0, 15), st.integers(0, 15), st.sampled_from(sorted(ACTIONS)))
def test_encode_decode_property(attack, confidence, severity, action):
    code = encode(attack, confidence, severity, action)
    assert 0 <= code <= 0xFFFF
    assert decode(code) == ResponseCode(attack, confidence, severity, action)


@pytest.mark.parametrize("bad", [-1, 1 << 16, 10**9])
def test_out_of_range_integers(bad):
    with pytest.raises(ValueError):
        decode(bad)
    with pytest.raises(ValueError):
        is_safe(bad)


@pytest.mark.parametrize("bad", [1.0, "240", None, True])
def test_non_integers(bad):
    with pytest.raises(TypeError):
        decode(bad)


@pytest.mark.parametrize(
    "fields",
    [(4, 0, 0, 0), (14, 0, 0, 0), (0, 16, 0, 0), (0, 0, -1, 0), (0, 0, 0, 4), ("evil", 0, 0, 0), (0, 0, 0, "nuke")],
)
def test_encode_validates(fields):
    with pytest.raises(ValueError):
        encode(*fields)


def test_level_rounds_half_up_and_clips():
    assert level(0.0) == 0 and level(1.0) == 15
    assert level(0.5) == 8  # 7.5 rounds up (Python's round() would give 8 too, but 2.5 -> 2: we never bank-round)
    assert level(2.5 / 15) == 3
    assert level(-0.2) == 0 and level(1.7) == 15
    with pytest.raises(ValueError):
        level(float("nan"))


def test_format_code():
    assert format_code(0x3DE1) == "0x3DE1 (0011 1101 1110 0001)"


def test_response_code_is_frozen():
    rc = decode(0x00F0)
    with pytest.raises(AttributeError):
        rc.attack_type = 1  # type: ignore[misc]


def test_module_doctests():
    import doctest

    assert doctest.testmod(codes).failed == 0


def test_docs_worked_examples_match_the_code():
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "response-codes.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\|\s*(\d+)\s*\|\s*`0x([0-9A-F]{4})`\s*\|\s*`([01 ]{19})`\s*\|(.*)\|$", doc, re.M)
    assert len(rows) >= 5
    for integer, hexa, binary, meaning in rows:
        code = int(integer)
        assert code == int(hexa, 16) and format_code(code) == f"0x{hexa} ({binary})"
        if "invalid" in meaning:
            with pytest.raises(ValueError):
                decode(code)
        else:
            assert decode(code).label.replace("_", " ") in meaning
