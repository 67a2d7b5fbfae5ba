"""``scripts/make_model_card.py``: the line that names a soup's seeds and which run the per-epoch table shows."""

from __future__ import annotations

from pathlib import Path

from _tg_scripts import load_script

REPO = Path(__file__).resolve().parents[1]


def _module():
    return load_script("make_model_card")


def test_seed_line_names_every_run_and_the_metric():
    m = _module()
    training = {"seeds": {"p2 (2)": 78.9, "p3 (3)": 79.3, "soup of the two": 79.4,
                          "metric": "OOD-dev score; training_metrics.jsonl is p2's run"}}  # fmt: skip
    (line,) = m.seed_lines(training)
    assert line == ("- Seeds: p2 (2) 78.9; p3 (3) 79.3; soup of the two 79.4 "
                    "(OOD-dev score; training_metrics.jsonl is p2's run).")  # fmt: skip
    assert m.seed_lines({}) == [] and m.seed_lines({"seeds": "one run"}) == []


def test_the_shipped_card_carries_its_seed_line():
    import json

    folder = next((REPO / "models").glob("tinyguardrail-*/"))
    training = json.loads((folder / "training.json").read_text(encoding="utf-8"))
    card = (folder / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert all(line in card for line in _module().seed_lines(training))  # regenerated since seed_lines exists


def test_the_shipped_card_names_reused_weights_and_runtime_settings():
    """A model that reuses earlier weights with other runtime settings says so in its card (``RUNTIME_RECORD``)."""
    import json

    folder = next((REPO / "models").glob("tinyguardrail-*/"))
    training = json.loads((folder / "training.json").read_text(encoding="utf-8"))
    card = (folder / "MODEL_CARD.md").read_text(encoding="utf-8")
    for key, label in _module().RUNTIME_RECORD:
        if training.get(key):
            assert f"- {label}: {str(training[key]).rstrip('.')}." in card
