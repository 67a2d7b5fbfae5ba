"""``scripts/runtime_eval.py``: the steps it runs, in order, and the runtime keys it copies (commands recorded)."""

from __future__ import annotations

import json

from _tg_scripts import load_script


def test_runtime_keys_copied_and_commands_in_order(tmp_path, monkeypatch):
    m = load_script("runtime_eval")
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    (shipped / "config.json").write_text(json.dumps({
        "name": "x", "early_exit_threshold": 0.97, "payload_views": True, "whole_view_confidence": 0.5,
        "whole_view_decoders": ["base64"], "thresholds": {"attack": 0.9}}))
    monkeypatch.chdir(tmp_path)
    calls = []

    def fake_run(cmd):
        calls.append(cmd)
        if "export" in cmd:  # the export writes the candidate's config
            out = tmp_path / cmd[cmd.index("--out") + 1]
            out.mkdir(parents=True)
            (out / "config.json").write_text(json.dumps({"name": "cand", "early_exit_threshold": 1.0}))

    monkeypatch.setattr(m, "_run", fake_run)
    assert m.main(["--name", "cand", "--checkpoint", "runs/c", "--runtime-from", str(shipped)]) == 0
    steps = [next(s for s in ("router_fit", "export", "calibrate", "run") if s in " ".join(c)) for c in calls]
    assert steps == ["router_fit", "export", "calibrate", "run"]
    assert "--suites-only" in calls[-1] and calls[-1][calls[-1].index("--suites-only") + 1] == "ood_dev"
    cfg = json.loads((tmp_path / "build/cand/cand/model/config.json").read_text())
    assert cfg == {"name": "cand", "early_exit_threshold": 0.97, "payload_views": True,
                   "whole_view_confidence": 0.5, "whole_view_decoders": ["base64"]}
    assert m.runtime_keys({"thresholds": {}, "payload_views": False}) == {"payload_views": False}
