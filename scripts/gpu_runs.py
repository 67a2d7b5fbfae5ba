"""Run a plan of training runs on one GPU machine (the device tool's H200), several at a time, and bring back their
metrics and the checkpoint of the best one by the OOD-dev selection score.

    python3 scripts/gpu_runs.py plans/v07.json          # on the GPU machine, from the repository root
    python3 scripts/gpu_runs.py plans/v07.json --check  # here, before the call: which runs train, which are reused

A plan (JSON, no machine paths besides the carried folders):

    {"parallel": 3, "cap_s": 420,
     "common": ["--data-dir", ".carry/data", "--set", "train.select_suite=\\".carry/data/ood_dev.jsonl.gz\\""],
     "runs": [{"name": "e5", "config": "configs/tinyguardrail-v0.7.json", "args": ["--set", "..."], "candidate": true},
              ...]}

``"derive"`` (optional) writes filtered copies of the carried data before the runs, for data ablations:
``{"dir": ".carry/data_nobank", "from": ".carry/data", "drop_prefix": ["bank/"]}`` leaves out of train and validation
every row whose ``template_id`` or ``source`` starts with one of the prefixes (generated rows keep their base's
template id, so they go too); the selection suite is copied unchanged. ``"add"`` / ``"remove"`` (gzipped JSON Lines of
training rows, ``scripts/make_carry.py --patch-against``) turn the training rows into another build's: a data change
then travels as a patch of a few MB instead of a second copy of the training split.

Runs that share a tokenizer (the same ``train.pretrained_dir``), a text front end (``train.script_marks``) and a
``--data-dir`` share one feature cache, built once before the runs start (``train --prepare-only``), so parallel runs never write the same cache. Each run writes ``$OUT/<name>.log``
(progress bars filtered out) and ``$OUT/<name>.metrics.jsonl``; ``$OUT/summary.json`` lists every run's best epoch
and selection score; all of these travel back in ``$OUT/runs_meta.tgz`` (a call returns at most 8 files). The best
``candidate`` run's ``best/`` checkpoint is packed as ``$OUT/ckpt.tar.part-NN`` (``scripts/pack_checkpoint.py``).
``"pack": ["<run>", ...]`` also brings back those runs' checkpoints (their best alpha when they have weight-space
ensembles) as ``$OUT/<run>.tar.part-NN``, for a recipe that is not among the candidates (say LP-FT beside the seeds).
``"deadline_s"`` bounds the whole call (a device command has a time limit): a run is stopped ``"reserve_s"`` (default
100) seconds before it, keeping its best epoch so far, and weight-space ensembles are skipped in the last half of that.
A run marked ``"reuse": true`` is not trained again: it is a run of an earlier call on the same, still warm machine
(when its folder is not there, e.g. the machine was released in between, it is reported with exit 1 and no scores).
A run marked ``"resume": true`` continues an earlier call's run of that name on the same warm machine from its
``last/`` checkpoint (``train --resume``): a recipe longer than one call trains as ``train.run_epochs=N`` in one call
and the rest in the next (same name, same args without ``run_epochs``); when any resumed run's ``last/`` is missing
(a fresh machine) the whole plan stops before its derive and cache steps. Every other run starts from an empty ``runs/<name>/`` (an earlier call's ``best/``, ``wise/`` and metrics of that name are removed). The text stage's pure-Python dependencies come from ``.carry/site.tgz``.

``"soups": [{"name": "soup_b", "runs": ["b2", "b3", "b4"], "alpha": "0.9", "pack": true}]`` averages the listed runs'
checkpoints after training (``tinyguardrail.train.soup``: their ``wise/a<alpha>`` when ``alpha`` is given and the run
has it, else ``best/``), scores the soup on the wise suite (or the soup's own ``"suite"``), and with
``"pack"`` brings the soup back as ``$OUT/<name>.tar.part-NN``; when the soup is not made (one finished ingredient,
too little time left before the deadline) or fails (stopped at the deadline) its best ingredient (by its WiSE score
at the soup's alpha where it has one) comes back instead, as ``$OUT/<name>_best.tar.part-NN`` (the one-call v46
trained three runs and brought back no weights: its soup had 20 s left).

``"init_from": "<run>"`` starts a run from another run's ``best/`` checkpoint once that run has finished (it must
come earlier in the list): linear probing then fine-tuning (LP-FT) is two runs, the first with the body frozen.

``"wise": {"base": ".carry/base_minilm", "alphas": "0.5,0.7,1", "suite": ".carry/data/ood_dev.jsonl.gz"}`` (on the
plan, or on a run to override it) scores weight-space ensembles of each run's ``best/`` with its pretrained base
(``tinyguardrail.train.wise``) on the suite after training. The packed checkpoint is then chosen at the recipe level: the
alpha with the best mean score over the candidate runs, then the candidate run with the best score at that alpha.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

OUT = Path(os.environ.get("OUT", "/tmp/out"))
NOISE = re.compile(r"it/s\]|s/it\]|chunk/s|row/s")


def _env() -> dict[str, str]:
    site = Path("/tmp/site")
    if not site.exists() and Path(".carry/site.tgz").exists():
        with tarfile.open(".carry/site.tgz") as tar:
            tar.extractall(site, filter="data")
    return os.environ | {"PYTHONPATH": f"{Path.cwd() / 'src'}:{site}", "PYTHONUNBUFFERED": "1",
                         "TOKENIZERS_PARALLELISM": "false"}


T0 = time.time()


def _left(plan: dict) -> float:
    """Seconds left before the plan's ``deadline_s`` (counted from the start of this script; none: unlimited)."""
    return plan.get("deadline_s", float("inf")) - (time.time() - T0)


def _pretrained_dir(args: list[str]) -> str:
    """The run's ``train.pretrained_dir``: the last ``--set`` of it, as in ``train`` (a run's own args come after the
    plan's ``common``, so a run can override the common base)."""
    found = "default"
    for a in args:
        m = re.match(r"train\.pretrained_dir=(.*)", a)
        if m:
            found = json.loads(m.group(1)) if m.group(1).startswith('"') else m.group(1)
    return found


def _data_dir(args: list[str]) -> str:
    """The run's ``--data-dir`` (the last one given): runs on other data build their features in a cache of their own
    before the parallel runs too, instead of two runs encoding the same files at once."""
    found = "default"
    for flag, value in zip(args, args[1:], strict=False):
        if flag == "--data-dir":
            found = value
    return found


def _train(name: str, config: str, args: list[str], cap_s: float, log: Path, extra: list[str]) -> int:
    cmd = [sys.executable, "-m", "tinyguardrail", "train", "--config", config, *args, *extra]
    with open(log, "a", encoding="utf-8") as fh:
        fh.write("$ " + " ".join(cmd) + "\n")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env())
        t0 = time.time()
        for line in proc.stdout:
            if not NOISE.search(line):
                fh.write(line)
                fh.flush()
            if time.time() - t0 > cap_s:
                proc.kill()
                fh.write(f"killed after {cap_s} s\n")
                break
        return proc.wait()


def _bounded(cmd: list[str], log, plan: dict) -> int:
    """Run ``cmd`` (output to ``log``), stopped 10 s before the plan's deadline so the summary is still written;
    its exit code, -9 when stopped."""
    left = _left(plan) - 10
    try:
        return subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=_env(),
                              timeout=None if left == float("inf") else max(1.0, left)).returncode  # fmt: skip
    except subprocess.TimeoutExpired:
        log.write("stopped: the plan's deadline\n")
        return -9


def _wise(name: str, out: str, spec: dict, plan: dict) -> dict[str, float]:
    """Score weight-space ensembles of ``out/best`` with its base; alpha (as text) -> suite score."""
    cmd = [sys.executable, "-m", "tinyguardrail.train.wise", "--checkpoint", f"{out}/best", "--base", spec["base"],
           "--alphas", spec["alphas"], "--suite", spec["suite"], "--out", f"{out}/wise"]
    with open(OUT / f"{name}.log", "a", encoding="utf-8") as fh:
        fh.write("$ " + " ".join(cmd) + "\n")
        fh.flush()
        if _bounded(cmd, fh, plan) != 0:
            return {}
    rows = json.loads(Path(f"{out}/wise/wise.json").read_text(encoding="utf-8"))["alphas"]
    suite = Path(spec["suite"]).name.split(".")[0]
    return {f"{row['alpha']:g}": row[suite]["pint_score"] for row in rows}


def _soup(spec: dict, results: list[dict], plan: dict) -> dict:
    """Average the finished runs named in ``spec`` into ``runs/<name>`` and score it; the summary entry."""
    by_name = {r["name"]: r for r in results if r["best_score"] is not None}
    alpha = None if spec.get("alpha") is None else f"{float(spec['alpha']):g}"  # the key and folder _wise wrote
    found = {}  # run name -> (its checkpoint folder, the score it is ranked by)
    for name in spec["runs"]:
        if name in by_name:
            run = by_name[name]
            scored = alpha is not None and alpha in (run.get("wise") or {})  # a WiSE step cut short left no score
            found[name] = (str(Path(run["out"]) / ("wise/a" + alpha if scored else "best")),
                           run["wise"][alpha] if scored else run["best_score"])
    parts = [folder for folder, _ in found.values()]
    res = {"name": spec["name"], "ingredients": parts}
    if len(parts) < 2 or _left(plan) < 30:
        res["error"] = "fewer than two finished ingredients" if len(parts) < 2 else "no time left before the deadline"
    else:
        suite = spec.get("suite", (plan.get("wise") or {}).get("suite"))
        out = f"runs/{spec['name']}"
        cmd = [sys.executable, "-m", "tinyguardrail.train.soup", *parts, "--out", out] + (["--suite", suite] if suite else [])
        with open(OUT / f"{spec['name']}.log", "a", encoding="utf-8") as fh:
            fh.write("$ " + " ".join(cmd) + "\n")
            fh.flush()
            res["exit"] = _bounded(cmd, fh, plan)
        scored = Path(out) / "soup.json"
        if res["exit"] == 0 and scored.is_file():
            report = json.loads(scored.read_text(encoding="utf-8"))
            res["soup_score"] = report["soup"]["pint_score"]
            res["ingredient_scores"] = [r["pint_score"] for r in report["ingredients"]] or None
        if res["exit"] == 0 and spec.get("pack"):
            res.update(_pack(out, f"{spec['name']}.tar.part-"))
            return res
    if parts and spec.get("pack"):  # no soup (not made, or stopped): the call still brings back one of its runs
        best = max(found, key=lambda n: found[n][1])
        res.update(_pack(found[best][0], f"{spec['name']}_best.tar.part-"))
        res["packed_instead"] = best
    return res


def _pack(folder: str, prefix: str) -> dict:
    """Pack ``folder`` as ``$OUT/<prefix>NN``; a failure is reported, not raised (the summary must still be written)."""
    try:
        subprocess.run([sys.executable, "scripts/pack_checkpoint.py", folder, str(OUT / prefix)], check=True, env=_env())
    except (subprocess.CalledProcessError, OSError) as e:
        return {"pack_error": str(e)}
    return {"packed": True}


def _choose(cands: list[dict]) -> tuple[str, dict]:
    """The checkpoint to pack: the best candidate run's best/, or with weight-space ensembles, the alpha with the
    best mean over the candidates that have them, then the best of those runs at that alpha."""
    wised = [r for r in cands if r.get("wise")]
    if not wised:
        best = max(cands, key=lambda r: r["best_score"])
        return f"{best['out']}/best", {"run": best["name"]}
    alphas = set.intersection(*(set(r["wise"]) for r in wised))
    mean = {a: sum(r["wise"][a] for r in wised) / len(wised) for a in alphas}
    a = max(mean, key=lambda k: (mean[k], float(k)))  # a tie goes to the larger alpha (less interpolation)
    best = max(wised, key=lambda r: r["wise"][a])
    return f"{best['out']}/wise/a{a}", {"run": best["name"], "alpha": a, "mean_by_alpha": mean}


def _row_key(row: dict) -> str:
    return json.dumps([row.get("text"), row.get("label"), row.get("source")], ensure_ascii=False)


def derive(spec: dict) -> None:
    import gzip
    import io

    src, dst = Path(spec["from"]), Path(spec["dir"])
    dst.mkdir(parents=True, exist_ok=True)
    prefixes = tuple(spec.get("drop_prefix", ()))
    patch = {}
    for side in ("add", "remove"):  # another build's training rows as a patch of this one (the carry stays small)
        if spec.get(side):
            with gzip.open(spec[side], "rt", encoding="utf-8") as f:
                patch[side] = [json.loads(line) for line in f if line.strip()]
    removing = {_row_key(r) for r in patch.get("remove", [])}
    for f in src.iterdir():
        if f.name.startswith(("train", "validation")):
            kept = dropped = 0
            # mtime 0: the same rows give the same bytes in every call, so the feature cache (keyed by the file's
            # hash) built by an earlier call on this machine is found again
            with gzip.open(f, "rt", encoding="utf-8") as fin, \
                    io.TextIOWrapper(gzip.GzipFile(dst / f.name, "wb", mtime=0), encoding="utf-8") as fout:
                for line in fin:
                    row = json.loads(line)
                    if (prefixes and (row.get("template_id", "").startswith(prefixes)
                                      or row.get("source", "").startswith(prefixes))) \
                            or (f.name.startswith("train") and _row_key(row) in removing):
                        dropped += 1
                        continue
                    fout.write(line)
                    kept += 1
                added = patch.get("add", []) if f.name.startswith("train") else []
                fout.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in added)
            print(f"derive {dst / f.name}: kept {kept}, dropped {dropped}, added {len(added)}")
        else:
            shutil.copy(f, dst / f.name)


CACHE_BUILD_S = 155  # the feature cache on a fresh device machine (16 workers, v46: 153 s)
EPOCH_S = 95  # one epoch of three parallel runs on one H100 (v46: 90-94 s)


def _strings(value) -> list[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _tree_bytes() -> int:
    """Bytes of what the device tool sends besides the carry: tracked and untracked-not-ignored files (0 outside git)."""
    try:
        out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return 0
    return sum(p.stat().st_size for p in map(Path, out.stdout.decode().split("\0")) if p.is_file())


def check(plan: dict) -> list[str]:
    """What a plan will do, one line per step, for a look before a GPU call (``--check``); raises ``ValueError`` on a
    plan that cannot run as written (a soup or ``init_from`` naming no earlier run, a missing config, a derive input
    that is not here, a carried folder the plan names that is not here and that no ``derive`` makes); its last line
    names the carried folders with their sizes and raises when they and the working tree exceed the device tool's
    64 MiB; it also names a feature cache (``runs/cache_*``) built here, which carried spares the call its ~190 s of
    building (when it fits)."""
    lines, names = [], []
    derived = {spec["dir"] for spec in plan.get("derive", [])}
    carried = set()
    for value in _strings({k: v for k, v in plan.items() if k != "comment"}):
        for text in re.findall(r"\.carry/[\w.-]+", value):
            top = text.rstrip(".")
            if top not in derived:
                carried.add(top)
    if Path(".carry/site.tgz").is_file():  # the text stage's packages: every call carries them
        carried.add(".carry/site.tgz")
    for spec in plan.get("derive", []):
        for key in ("from", "add", "remove"):
            if spec.get(key) and not Path(spec[key]).exists():
                raise ValueError(f"derive {spec['dir']}: {key} {spec[key]} is not here (is it carried?)")
        lines.append(f"derive {spec['dir']} from {spec['from']}")
    missing = sorted(c for c in carried if not Path(c).exists())
    if missing:
        raise ValueError(f"carried folders the plan names are not here: {missing}")
    common = list(plan.get("common", []))
    for r in plan["runs"]:
        if not Path(r["config"]).is_file():
            raise ValueError(f"run {r['name']}: no config {r['config']}")
        if r.get("init_from") and r["init_from"] not in names:
            raise ValueError(f"run {r['name']}: init_from {r['init_from']} is not an earlier run")
        args = common + r.get("args", [])
        how = ("REUSED from an earlier call (the machine must still be warm)" if r.get("reuse") else
               "RESUMED from an earlier call's last/ (the machine must still be warm)" if r.get("resume")
               else "trained")  # fmt: skip
        lines.append(f"run {r['name']}: {how}; data {_data_dir(args)}; {' '.join(r.get('args', []))}")
        names.append(r["name"])
    for spec in plan.get("soups", []):
        unknown = sorted(set(spec["runs"]) - set(names))
        if unknown:
            raise ValueError(f"soup {spec['name']}: no run named {unknown}")
        lines.append(f"soup {spec['name']}: {', '.join(spec['runs'])} (alpha {spec.get('alpha', 'best/')})")
    if "deadline_s" in plan:  # the runs' training time once the feature cache is built and the reserve kept
        train_s = min(plan.get("cap_s", 480), plan["deadline_s"] - plan.get("reserve_s", 100) - CACHE_BUILD_S)
        late = len(plan["runs"]) > int(plan.get("parallel", 2)) or any(r.get("init_from") for r in plan["runs"])
        lines.append(
            f"time: deadline {plan['deadline_s']:g} s, reserve {plan.get('reserve_s', 100):g} s, cap "
            f"{plan.get('cap_s', 480):g} s: at most {max(train_s, 0):g} s per run (its start and cache load included) "
            f"after a ~{CACHE_BUILD_S} s feature cache"
            + (", less the derive steps before it" if plan.get("derive") else "")
            + ("; runs that wait (beyond the parallel ones, or for init_from) get less" if late else "")
            + (f"; WARNING: too little for one epoch of parallel runs (~{EPOCH_S} s)" if train_s < EPOCH_S else ""))
    sizes = {c: sum(f.stat().st_size for f in Path(c).rglob("*") if f.is_file()) if Path(c).is_dir()
             else Path(c).stat().st_size for c in sorted(carried)}  # fmt: skip
    tree = _tree_bytes()
    total = tree + sum(sizes.values())
    caches = sorted(f"{c} ({n / 2**20:.1f} MiB{'' if total + n <= 64 * 2**20 else ', does not fit'})"
                    for c, n in ((c, sum(f.stat().st_size for f in c.rglob("*") if f.is_file()))
                                 for c in Path("runs").glob("cache_*") if c.is_dir()))  # fmt: skip
    if total > 64 * 2**20:
        raise ValueError(f"the working tree ({tree / 2**20:.1f} MiB) and the carry ({sum(sizes.values()) / 2**20:.1f} "
                         f"MiB) exceed the device tool's 64 MiB")
    lines.append("carry: " + ", ".join(f"{c} ({n / 2**20:.1f} MiB)" for c, n in sizes.items())
                 + f"; {sum(sizes.values()) / 2**20:.1f} MiB, {total / 2**20:.1f} of 64 MiB with the working tree"
                 + (f"; feature caches here, not counted (carry one only if built with this plan's data and base): "
                    f"{', '.join(caches)}" if caches else ""))  # fmt: skip
    return lines


def with_deadline(plan: dict, deadline_s: float | None) -> dict:
    """The plan with ``--deadline-s`` applied: the shorter of the two deadlines (the device time left may be shorter
    than the call the plan was written for)."""
    if deadline_s is not None:
        plan["deadline_s"] = min(deadline_s, plan.get("deadline_s", float("inf")))
    return plan


def main(plan_path: str, deadline_s: float | None = None) -> int:
    plan = with_deadline(json.loads(Path(plan_path).read_text(encoding="utf-8")), deadline_s)
    OUT.mkdir(parents=True, exist_ok=True)
    runs = plan["runs"]
    lost = [r["name"] for r in runs if r.get("resume") and not (Path("runs") / r["name"] / "last").is_dir()]
    if lost:  # before any derive or cache build: a fresh machine cannot continue these runs (nor can the plan)
        print(f"resume: no runs/<name>/last for {', '.join(lost)} on this machine (a fresh machine since the earlier "
              f"call?); nothing done", file=sys.stderr)
        return 1
    for spec in plan.get("derive", []):
        derive(spec)
    common = list(plan.get("common", []))
    caches, preps = {}, []
    for r in runs:  # one feature cache per tokenizer and text front end, built before the parallel runs
        args = common + r.get("args", [])
        key = (_pretrained_dir(args), "train.script_marks=true" in args, _data_dir(args))
        if key not in caches:
            caches[key] = f"runs/cache_{len(caches)}"
            preps.append((f"prep_{len(caches)}", r["config"], args, 1e9, OUT / f"prepare_{len(caches)}.log",
                          ["--set", f'train.cache_dir="{caches[key]}"', "--out", f"runs/prep_{len(caches)}",
                           "--prepare-only"]))
        r["_cache"] = caches[key]
    with ThreadPoolExecutor(max_workers=max(1, len(preps))) as pool:  # the caches are independent: build them at once
        list(pool.map(lambda job: _train(*job), preps))

    done = {r["name"]: threading.Event() for r in runs}

    def one(r: dict) -> dict:
        try:
            return _one(r)
        finally:
            done[r["name"]].set()

    def _one(r: dict) -> dict:
        t0 = time.time()
        out = f"runs/{r['name']}"
        code = 0
        extra = ["--set", f'train.cache_dir="{r["_cache"]}"', "--out", out]
        if r.get("init_from"):
            done[r["init_from"]].wait()
            extra += ["--set", f'train.init_checkpoint="runs/{r["init_from"]}/best"']
        if not r.get("reuse"):  # "reuse": a run of an earlier call on this (still warm) machine
            if r.get("resume"):  # its last/ is here: main() checked before anything ran
                extra.append("--resume")
            else:
                shutil.rmtree(out, ignore_errors=True)  # a rerun on a warm machine must not inherit best/, wise/, last/
            cap = min(plan.get("cap_s", 480), _left(plan) - plan.get("reserve_s", 100))
            code = _train(r["name"], r["config"], common + r.get("args", []), cap, OUT / f"{r['name']}.log", extra)
        metrics = Path(out) / "metrics.jsonl"
        history = [json.loads(x) for x in metrics.read_text().splitlines()] if metrics.exists() else []
        if r.get("reuse") and not history:  # a fresh machine since the earlier call: nothing to reuse
            code = 1
            print(f"reuse: {out} is not on this machine (a fresh machine since the call that trained it?)",
                  file=sys.stderr)
        (OUT / f"{r['name']}.metrics.jsonl").write_text("".join(json.dumps(h) + "\n" for h in history))
        scored = [(h.get("select", {}).get("pint_score", h.get("val", {}).get("balanced_accuracy", -1)), h["epoch"])
                  for h in history if "val" in h]
        best = max(scored, default=(None, None))
        res = {"name": r["name"], "exit": code, "seconds": round(time.time() - t0, 1), "best_score": best[0],
               "best_epoch": best[1], "candidate": bool(r.get("candidate")), "out": out}
        wise = r.get("wise", plan.get("wise"))
        if wise and best[0] is not None and _left(plan) > plan.get("reserve_s", 100) / 2:
            res["wise"] = _wise(r["name"], out, wise, plan)
        return res

    with ThreadPoolExecutor(max_workers=int(plan.get("parallel", 2))) as pool:
        results = list(pool.map(one, runs))
    cands = [r for r in results if r["candidate"] and r["best_score"] is not None]
    summary = {"plan": plan_path, "runs": results}
    if cands:
        best_dir, summary["packed"] = _choose(cands)
        summary["packed"].update(_pack(best_dir, "ckpt.tar.part-"))
    for name in plan.get("pack", []):  # another recipe's checkpoint to bring back beside the chosen one
        run = next((r for r in results if r["name"] == name and r["best_score"] is not None), None)
        if run is None:
            continue
        run_dir, info = _choose([run])
        summary.setdefault("packed_also", {})[name] = {**info, **_pack(run_dir, f"{name}.tar.part-")}
    for spec in plan.get("soups", []):  # uniform weight averages of finished runs (model soups)
        summary.setdefault("soups", []).append(_soup(spec, results, plan))
    (OUT / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    # at most 8 files come back from a call: logs and metrics travel in one archive beside the checkpoint parts
    loose = [p for p in OUT.iterdir() if p.suffix in (".log", ".jsonl", ".json")]
    with tarfile.open(OUT / "runs_meta.tgz", "w:gz") as tar:
        for p in loose:
            tar.add(p, arcname=p.name)
    for p in loose:
        p.unlink()
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("plan", help="the plan's JSON file, e.g. plans/v41_bank_languages.json")
    parser.add_argument("--check", action="store_true",
                        help="print what the plan will do (which runs train, which are reused) and exit; run it here "
                             "before a GPU call")
    parser.add_argument("--deadline-s", type=float, default=None,
                        help="a shorter deadline than the plan's (seconds from the start), for a call whose device "
                             "time left is less than the plan was written for")
    cli = parser.parse_args()
    if cli.check:
        try:
            plan = with_deadline(json.loads(Path(cli.plan).read_text(encoding="utf-8")), cli.deadline_s)
            print("\n".join(check(plan)))
        except ValueError as e:
            raise SystemExit(f"{cli.plan}: {e}") from None
        except (KeyError, TypeError) as e:  # a step without a field every step needs
            raise SystemExit(f"{cli.plan}: malformed plan, a run, soup or derive lacks {e}") from None
        raise SystemExit(0)
    raise SystemExit(main(cli.plan, cli.deadline_s))
