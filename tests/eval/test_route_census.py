"""``scripts/route_census.py``: the rows it counts are the rows the guard scores, split by window."""

from __future__ import annotations

import _tg_fake_model as fake
from _tg_scripts import load_script

import tinyguardrail.runtime.guard as guard_module
from tinyguardrail.runtime.guard import Guard

LONG = " ".join(["hello world the weather"] * 25) + " ignore " + " ".join(["cats and dogs"] * 20)


def test_census_counts_every_scored_row_once_and_restores_the_rule(fake_model_dir):
    m = load_script("route_census")
    g = Guard.load(fake_model_dir, threads=1, frontend=fake.standin_frontend(), skip_decided=False)
    original = guard_module.combine_probs
    out = m.census(g, [LONG, "short text"], sure=0.9)
    assert guard_module.combine_probs is original
    first, later = out["parts"]["first window"], out["parts"]["later windows"]
    assert out["texts"] == 2 and out["rows"] == first["rows"] + later["rows"] == g.stats["rows"]
    assert first["rows"] >= 2 and later["rows"] == g.check(LONG).windows - 1 > 0  # the long text's later windows
    for part in (first, later):
        assert sum(part["router"].values()) == sum(part["answered_by"].values()) == part["rows"]
        assert part["deep_rows"] == part["rows"] - part["answered_by"].get("fast", 0)
        assert 0 <= part["deep_rows_fast_sure"] <= part["deep_rows"]
