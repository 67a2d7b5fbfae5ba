"""``scripts/gpu_runs.py``'s choices made without a GPU: which checkpoint a plan packs (the recipe-level WiSE
alpha), the call's deadline, and ``derive``'s data ablation."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
from _tg_scripts import load_script


@pytest.fixture(scope="module")
def gpu_runs():
    return load_script("gpu_runs")


def _run(name: str, best: float, wise: dict | None = None) -> dict:
    return {"name": name, "out": f"runs/{name}", "best_score": best, "wise": wise or {}}


def test_without_wise_the_best_run_is_packed(gpu_runs):
    path, info = gpu_runs._choose([_run("a", 0.70), _run("b", 0.74), _run("c", 0.72)])
    assert (path, info) == ("runs/b/best", {"run": "b"})


def test_wise_alpha_is_chosen_on_the_mean_over_runs_then_the_best_run_at_it(gpu_runs):
    runs = [_run("a", 0.0, {"0.8": 0.79, "1": 0.77}),  # a alone would pick 0.8 ...
            _run("b", 0.0, {"0.8": 0.70, "1": 0.78})]  # ... but the recipe's mean picks 1 (0.775 vs 0.745)
    path, info = gpu_runs._choose(runs)
    assert info["alpha"] == "1" and info["run"] == "b" and path == "runs/b/wise/a1"
    assert info["mean_by_alpha"] == pytest.approx({"0.8": 0.745, "1": 0.775})


def test_a_tie_between_alphas_goes_to_less_interpolation(gpu_runs):
    _, info = gpu_runs._choose([_run("a", 0.0, {"0.9": 0.75, "1": 0.75})])
    assert info["alpha"] == "1"


def test_deadline(gpu_runs, monkeypatch):
    assert gpu_runs._left({}) == float("inf")
    monkeypatch.setattr(gpu_runs, "T0", time.time() - 100)
    assert 399 < gpu_runs._left({"deadline_s": 500}) <= 400


def test_derive_drops_rows_by_source_or_template_prefix(gpu_runs, tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    rows = [{"text": "a", "source": "bank", "template_id": "bank/ca/x/0"},
            {"text": "b", "source": "synth", "template_id": "bank/mr/x/1"},  # generated from a bank row
            {"text": "c", "source": "tatoeba", "template_id": "t/1"}]
    for name in ("train.jsonl.gz", "validation.jsonl.gz"):
        with gzip.open(src / name, "wt", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
    (src / "ood_dev.jsonl.gz").write_bytes(b"suite")
    gpu_runs.derive({"dir": str(dst), "from": str(src), "drop_prefix": ["bank/"]})
    for name in ("train.jsonl.gz", "validation.jsonl.gz"):
        with gzip.open(dst / name, "rt", encoding="utf-8") as f:
            assert [json.loads(line)["text"] for line in f] == ["c"]
    assert (dst / "ood_dev.jsonl.gz").read_bytes() == b"suite"  # the selection suite is copied unchanged


def test_a_runs_own_base_overrides_the_common_one_for_its_feature_cache(gpu_runs):
    common = ["--set", 'train.pretrained_dir=".carry/base_minilm"', "--data-dir", ".carry/data"]
    assert gpu_runs._pretrained_dir(common) == ".carry/base_minilm"
    assert gpu_runs._pretrained_dir([*common, "--set", 'train.pretrained_dir=".carry/base_cov"']) == ".carry/base_cov"
    assert gpu_runs._pretrained_dir(["--seed", "2"]) == "default"


def test_a_runs_own_data_dir_gets_its_own_feature_cache_key(gpu_runs):
    common = ["--set", "train.allow_stale_features=true", "--data-dir", ".carry/data"]
    assert gpu_runs._data_dir(common) == ".carry/data"
    assert gpu_runs._data_dir([*common, "--seed", "3", "--data-dir", ".carry/data_tc"]) == ".carry/data_tc"
    assert gpu_runs._data_dir(["--seed", "2"]) == "default"


def test_derive_applies_a_patch_of_training_rows(gpu_runs, tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()

    def write(path, rows):
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)

    rows = [{"text": t, "label": "benign", "source": "s"} for t in "abc"]
    write(src / "train.jsonl.gz", rows)
    write(src / "validation.jsonl.gz", rows)
    write(tmp_path / "add.jsonl.gz", [{"text": "d", "label": "benign", "source": "hn"}])
    write(tmp_path / "remove.jsonl.gz", [rows[1], {"text": "a", "label": "jailbreak", "source": "s"}])
    gpu_runs.derive({"dir": str(dst), "from": str(src), "add": str(tmp_path / "add.jsonl.gz"),
                     "remove": str(tmp_path / "remove.jsonl.gz")})
    with gzip.open(dst / "train.jsonl.gz", "rt", encoding="utf-8") as f:
        assert [json.loads(line)["text"] for line in f] == ["a", "c", "d"]  # "a" stays: its label differs
    with gzip.open(dst / "validation.jsonl.gz", "rt", encoding="utf-8") as f:
        assert [json.loads(line)["text"] for line in f] == ["a", "b", "c"]  # validation is not patched


def test_make_carry_patch_rebuilds_the_other_builds_training_rows(gpu_runs, tmp_path, monkeypatch):
    """``make_carry.py --patch-against`` + ``derive``: the carried build plus the patch gives the other build's
    training rows (as a multiset; reduced to text, label and source)."""
    import sys
    from collections import Counter

    from tinyguardrail.data.io import write_training_jsonl_gz
    from tinyguardrail.data.record import Record

    def rec(text, label="benign", source="s"):
        return Record(text=text, label=label, source=source, attack_type="none", lang="en", template_id=f"t/{text}")

    carried, other, patch = tmp_path / "carried", tmp_path / "other", tmp_path / "patch"
    write_training_jsonl_gz(carried / "train.jsonl.gz", [rec("a"), rec("b"), rec("c", "jailbreak")])
    write_training_jsonl_gz(carried / "validation.jsonl.gz", [rec("v")])
    write_training_jsonl_gz(other / "train.jsonl.gz", [rec("a"), rec("c", "jailbreak"), rec("d", source="hn")])
    make_carry = load_script("make_carry")
    monkeypatch.setattr(sys, "argv", ["make_carry.py", "--data", str(other), "--out", str(patch),
                                      "--patch-against", str(carried)])
    assert make_carry.main() == 0
    gpu_runs.derive({"dir": str(tmp_path / "derived"), "from": str(carried), "add": str(patch / "add.jsonl.gz"),
                     "remove": str(patch / "remove.jsonl.gz")})

    def rows(path):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return Counter(line.strip() for line in f if line.strip())

    assert rows(tmp_path / "derived" / "train.jsonl.gz") == rows(other / "train.jsonl.gz")


def test_a_soup_takes_each_runs_wise_alpha_when_it_has_one_and_reads_its_scores(gpu_runs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(gpu_runs, "OUT", tmp_path / "out")
    (tmp_path / "out").mkdir()
    (tmp_path / "runs/a/wise/a0.9").mkdir(parents=True)  # a has the ensemble at 0.9; b only its best/
    calls = []

    def fake_run(cmd, **kw):
        calls.append(cmd)
        if "tinyguardrail.train.soup" in cmd:
            out = Path(cmd[cmd.index("--out") + 1])
            out.mkdir(parents=True)
            (out / "soup.json").write_text(json.dumps({"soup": {"pint_score": 0.8},
                                                       "ingredients": [{"pint_score": 0.7}, {"pint_score": 0.75}]}))
        return type("R", (), {"returncode": 0})()

    monkeypatch.setattr(gpu_runs.subprocess, "run", fake_run)
    (tmp_path / "runs/b/wise/a0.9").mkdir(parents=True)  # b's WiSE step was stopped: a folder but no score
    results = [_run("a", 0.7, {"0.9": 0.72}), _run("b", 0.75), _run("c", None)]  # c did not finish: left out
    res = gpu_runs._soup({"name": "s", "runs": ["a", "b", "c"], "alpha": "0.90", "pack": True}, results,
                         {"wise": {"suite": "suite.jsonl.gz"}})
    assert res["ingredients"] == ["runs/a/wise/a0.9", "runs/b/best"]
    assert calls[0][3:] == ["runs/a/wise/a0.9", "runs/b/best", "--out", "runs/s", "--suite", "suite.jsonl.gz"]
    assert res["soup_score"] == 0.8 and res["ingredient_scores"] == [0.7, 0.75] and res["packed"]
    assert "pack_checkpoint.py" in calls[1][1]
    alone = gpu_runs._soup({"name": "t", "runs": ["a", "c"]}, results, {})
    assert "error" in alone and len(calls) == 2


def test_a_rerun_on_a_warm_machine_inherits_nothing_of_the_earlier_call(gpu_runs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(gpu_runs, "OUT", tmp_path / "out")
    for stale in ("runs/k/best", "runs/k/wise/a0.9", "runs/k/last"):  # an earlier call's run of the same name
        (tmp_path / stale).mkdir(parents=True)
    (tmp_path / "runs/k/metrics.jsonl").write_text(json.dumps({"epoch": 0, "val": {}, "select": {"pint_score": 0.9}})
                                                   + "\n")
    seen = []

    def fake_train(name, config, args, cap_s, log, extra):  # noqa: ANN001, ANN202 - _train's signature
        out = Path(extra[extra.index("--out") + 1])
        if name.startswith("prep"):
            return 0
        seen.append(sorted(p.name for p in out.iterdir()) if out.exists() else [])
        (out / "best").mkdir(parents=True)
        (out / "metrics.jsonl").write_text(json.dumps({"epoch": 0, "val": {}, "select": {"pint_score": 0.7}}) + "\n")
        return 0

    monkeypatch.setattr(gpu_runs, "_train", fake_train)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"runs": [{"name": "k", "config": "c.json"}]}))
    assert gpu_runs.main(str(plan)) == 0
    assert seen == [[]]  # the run started from an empty folder
    summary = json.loads(capsys.readouterr().out)
    assert summary["runs"][0]["best_score"] == 0.7 and not (tmp_path / "runs/k/wise").exists()


def test_a_reused_run_missing_on_this_machine_is_reported_as_failed(gpu_runs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(gpu_runs, "OUT", tmp_path / "out")
    monkeypatch.setattr(gpu_runs, "_train", lambda *a, **k: 0)  # only the feature-cache step would call it
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"runs": [{"name": "gone", "config": "c.json", "reuse": True}],
                                "soups": [{"name": "s", "runs": ["gone", "gone"]}]}))  # fmt: skip
    assert gpu_runs.main(str(plan)) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    run = summary["runs"][0]
    assert run["exit"] == 1 and run["best_score"] is None and "wise" not in run
    assert "not on this machine" in captured.err
    assert "error" in summary["soups"][0]


def test_check_says_which_runs_train_and_which_are_reused(gpu_runs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.json").write_text("{}")
    (tmp_path / ".carry" / "d").mkdir(parents=True)
    (tmp_path / ".carry" / "d" / "train.jsonl.gz").write_bytes(b"x" * 2**20)
    plan = {"common": ["--data-dir", ".carry/d"],
            "runs": [{"name": "a", "config": "c.json", "args": ["--seed", "2"], "reuse": True},
                     {"name": "b", "config": "c.json", "init_from": "a"}],
            "soups": [{"name": "s", "runs": ["a", "b"], "alpha": "0.9"}]}
    lines = gpu_runs.check(plan)
    assert lines[0].startswith("run a: REUSED") and "data .carry/d; --seed 2" in lines[0]
    assert lines[1].startswith("run b: trained") and lines[2] == "soup s: a, b (alpha 0.9)"
    assert lines[3] == "carry: .carry/d (1.0 MiB); 1.0 MiB, 1.0 of 64 MiB with the working tree"  # not a git tree
    monkeypatch.setattr(gpu_runs, "_tree_bytes", lambda: 63.5 * 2**20)  # the working tree travels too
    with pytest.raises(ValueError, match="exceed the device tool's 64 MiB"):
        gpu_runs.check(plan)
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "cache_0").mkdir(parents=True)
    assert gpu_runs.check(plan | {"comment": "mentions .carry/old, which is not read"})[-1].endswith(
        "(carry one only if built with this plan's data and base): runs/cache_0 (0.0 MiB)")
    derived = plan | {"derive": [{"dir": ".carry/dx", "from": ".carry/d"}], "common": ["--data-dir", ".carry/dx"]}
    assert gpu_runs.check(derived)[-1].startswith("carry: .carry/d (")  # a derived folder is made there, not carried
    for bad, match in (({"soups": [{"name": "s", "runs": ["a", "z"]}]}, "no run named"),
                       ({"runs": [{"name": "b", "config": "c.json", "init_from": "a"}]}, "not an earlier run"),
                       ({"runs": [{"name": "a", "config": "missing.json"}]}, "no config"),
                       ({"derive": [{"dir": "x", "from": ".carry/none"}]}, "is not here"),
                       ({"wise": {"base": ".carry/base_none"}}, r"not here: \['.carry/base_none'\]")):
        with pytest.raises(ValueError, match=match):
            gpu_runs.check(plan | bad)


def test_check_tells_the_training_time_a_deadline_leaves(gpu_runs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.json").write_text("{}")
    plan = {"deadline_s": 580, "reserve_s": 150, "cap_s": 400, "runs": [{"name": "a", "config": "c.json"}]}
    assert not any(line.startswith("time:") for line in gpu_runs.check({"runs": plan["runs"]}))  # no deadline
    line = next(x for x in gpu_runs.check(dict(plan)) if x.startswith("time:"))
    assert f"at most {580 - 150 - gpu_runs.CACHE_BUILD_S} s per run" in line and "WARNING" not in line
    assert "derive" not in line and "get less" not in line
    capped = next(x for x in gpu_runs.check(dict(plan, cap_s=100, parallel=1, runs=plan["runs"] * 2,
                                                  derive=[{"dir": "x", "from": "c.json"}])) if x.startswith("time:"))
    assert "at most 100 s per run" in capped and "less the derive steps" in capped and "get less" in capped
    short = gpu_runs.with_deadline(dict(plan), 350)  # --deadline-s: the shorter deadline applies to --check too
    assert short["deadline_s"] == 350 and gpu_runs.with_deadline(dict(plan), 900)["deadline_s"] == 580
    line = next(x for x in gpu_runs.check(short) if x.startswith("time:"))
    assert f"at most {max(350 - 150 - gpu_runs.CACHE_BUILD_S, 0)} s" in line and "WARNING: too little" in line
    plan_file = tmp_path / "p.json"  # the command line: --check with --deadline-s
    plan_file.write_text(json.dumps(plan))
    script = Path(__file__).resolve().parents[2] / "scripts" / "gpu_runs.py"
    out = subprocess.run([sys.executable, str(script), "--check", str(plan_file), "--deadline-s", "350"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0 and "deadline 350 s" in out.stdout and "WARNING: too little" in out.stdout, out.stderr


def test_a_resumed_run_continues_its_folder_with_resume(gpu_runs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(gpu_runs, "OUT", tmp_path / "out")
    (tmp_path / "runs/k/last").mkdir(parents=True)  # the earlier call's run, two epochs of three
    (tmp_path / "runs/k/metrics.jsonl").write_text(json.dumps({"epoch": 1, "val": {}, "select": {"pint_score": 0.7}})
                                                   + "\n")
    seen = []

    def fake_train(name, config, args, cap_s, log, extra):  # noqa: ANN001, ANN202 - _train's signature
        if name.startswith("prep"):
            return 0
        seen.append(extra)
        out = Path(extra[extra.index("--out") + 1])
        with (out / "metrics.jsonl").open("a") as f:
            f.write(json.dumps({"epoch": 2, "val": {}, "select": {"pint_score": 0.6}}) + "\n")
        return 0

    monkeypatch.setattr(gpu_runs, "_train", fake_train)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"runs": [{"name": "k", "config": "c.json", "resume": True}]}))
    assert gpu_runs.main(str(plan)) == 0
    assert "--resume" in seen[0] and (tmp_path / "runs/k/last").is_dir()
    run = json.loads(capsys.readouterr().out)["runs"][0]
    assert (run["best_score"], run["best_epoch"]) == (0.7, 1)  # the earlier call's epoch is still in the history
    with tarfile.open(tmp_path / "out" / "runs_meta.tgz") as tar:  # what comes back: both calls' epochs
        assert len(tar.extractfile("k.metrics.jsonl").read().splitlines()) == 2
    (tmp_path / "c.json").write_text("{}")
    assert gpu_runs.check({"runs": [{"name": "k", "config": "c.json", "resume": True}]})[0].startswith("run k: RESUMED")


def test_a_resume_on_a_fresh_machine_stops_before_building_caches(gpu_runs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(gpu_runs, "OUT", tmp_path / "out")
    calls = []
    monkeypatch.setattr(gpu_runs, "_train", lambda *a, **k: calls.append(a) or 0)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"runs": [{"name": "gone", "config": "c.json", "resume": True}],
                                "derive": [{"dir": "derived", "from": "absent"}]}))  # fmt: skip
    assert gpu_runs.main(str(plan)) == 1  # before the derive (whose input is not even here)
    assert calls == [] and "nothing done" in capsys.readouterr().err and not (tmp_path / "derived").exists()


def test_derive_writes_the_same_bytes_in_every_call(gpu_runs, tmp_path):
    """A second call's derive must not change the file the feature cache is keyed by (its hash)."""
    src = tmp_path / "src"
    src.mkdir()
    with gzip.open(src / "train.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write(json.dumps({"text": "a", "source": "s"}) + "\n")
    spec = {"dir": str(tmp_path / "dst"), "from": str(src)}
    gpu_runs.derive(spec)
    first = (tmp_path / "dst" / "train.jsonl.gz").read_bytes()
    time.sleep(1.1)  # gzip headers carry whole seconds
    gpu_runs.derive(spec)
    assert (tmp_path / "dst" / "train.jsonl.gz").read_bytes() == first


def test_wise_and_soup_steps_stop_at_the_deadline(gpu_runs, tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_runs, "T0", time.time())
    slow = [sys.executable, "-c", "import time; time.sleep(30)"]
    with (tmp_path / "log").open("w") as log:
        t0 = time.time()
        assert gpu_runs._bounded(slow, log, {"deadline_s": 11.5}) == -9  # 10 s kept for the summary: stopped at ~1.5 s
        assert time.time() - t0 < 10
        assert gpu_runs._bounded([sys.executable, "-c", "pass"], log, {}) == 0  # no deadline: no limit
    assert "stopped: the plan's deadline" in (tmp_path / "log").read_text()


def test_a_shorter_deadline_given_on_the_command_line_caps_the_runs(gpu_runs, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(gpu_runs, "T0", time.time())  # the deadline counts from here, not from the module's import
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(gpu_runs, "OUT", tmp_path / "out")
    caps = []

    def fake_train(name, config, args, cap_s, log, extra):  # noqa: ANN001, ANN202 - _train's signature
        if not name.startswith("prep"):
            caps.append(cap_s)
        return 0

    monkeypatch.setattr(gpu_runs, "_train", fake_train)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"runs": [{"name": "k", "config": "c.json"}], "cap_s": 400, "deadline_s": 580,
                                "reserve_s": 40}))
    gpu_runs.main(str(plan), deadline_s=300)
    assert len(caps) == 1 and 255 < caps[0] <= 260  # min(400, 300 - elapsed - 40), not the plan's 400
    caps.clear()
    gpu_runs.main(str(plan), deadline_s=900)  # a longer one does not extend the plan's
    assert caps[0] == 400


def test_a_packed_soup_without_time_left_brings_back_its_best_ingredient(gpu_runs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(gpu_runs, "OUT", tmp_path / "out")
    for name in ("a", "b"):
        (tmp_path / f"runs/{name}/wise/a0.9").mkdir(parents=True)
    calls = []
    monkeypatch.setattr(gpu_runs.subprocess, "run", lambda cmd, **kw: calls.append(cmd))
    results = [dict(_run("a", 0.8), wise={"0.9": 0.70}), dict(_run("b", 0.7), wise={"0.9": 0.75})]
    spec = {"name": "s", "runs": ["a", "b"], "alpha": "0.9", "pack": True}
    res = gpu_runs._soup(spec, results, {"deadline_s": 0})  # the deadline has passed
    assert res["error"] == "no time left before the deadline" and res["packed_instead"] == "b"  # b's 0.75 at 0.9
    assert calls == [[sys.executable, "scripts/pack_checkpoint.py", "runs/b/wise/a0.9",
                      str(tmp_path / "out" / "s_best.tar.part-")]]
    calls.clear()
    assert "packed_instead" not in gpu_runs._soup(dict(spec, pack=False), results, {"deadline_s": 0}) and not calls

    def stopped(cmd, **kw):  # the soup is stopped at the deadline; packing then fails
        calls.append(cmd)
        if "pack_checkpoint.py" in cmd[1]:
            raise subprocess.CalledProcessError(1, cmd)
        return type("R", (), {"returncode": -9})()

    monkeypatch.setattr(gpu_runs.subprocess, "run", stopped)
    monkeypatch.setattr(gpu_runs, "_bounded", lambda cmd, fh, plan: -9)
    (tmp_path / "out").mkdir()
    res = gpu_runs._soup(spec, results, {})
    assert res["exit"] == -9 and res["packed_instead"] == "b" and "pack_error" in res  # reported, not raised
