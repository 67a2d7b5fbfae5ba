"""``scripts/carrier_prior.py``: text shapes and their class counts."""

from __future__ import annotations

from _tg_scripts import load_script

from tinyguardrail.data.record import Record


def test_shapes_and_counts():
    m = load_script("carrier_prior")
    texts = ('  {"a": 1}', "[1, 2]", "[INST] hi", "From: a@b.c\nhi", "subject: x", "<p>x</p>", "hello")
    assert [m.shape(t) for t in texts] == ["json", "json", "bracketed", "email", "email", "html", "other"]
    rows = [Record('{"q": 1}', "direct_injection", "agentsynth", "indirect_tool_output", "und", "t1", "train"),
            Record('{"q": 2}', "direct_injection", "synth", "indirect_tool_output", "und", "t2", "train"),
            Record('{"q": 3}', "benign", "agentsynth", "carrier_tool_output", "und", "t3", "train"),
            Record("plain words", "benign", "tatoeba", "none", "en", "t4", "train")]
    out = m.shape_counts(rows)
    assert out["json"]["attack"] == 2 and out["json"]["benign"] == 1 and out["json"]["attack_share"] == round(2 / 3, 4)
    assert out["json"]["attack_groups"] == {"agentsynth/indirect_tool_output": 1, "synth/indirect_tool_output": 1}
    assert out["other"] == {"attack": 0, "benign": 1, "attack_share": 0.0, "attack_groups": {},
                            "benign_groups": {"tatoeba/none": 1}}
