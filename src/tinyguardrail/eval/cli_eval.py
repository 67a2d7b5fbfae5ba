"""``tinyguardrail eval``: score our model, earlier versions of it and the offline peer detectors on the same
evaluation suites in one run, and write ``docs/eval/results.json``, ``docs/RESULTS.md``, ``docs/eval/results.md``
and the plots.

    tinyguardrail eval                                  # the shipped model + every installed peer
    tinyguardrail eval --baseline v0.6=build/baselines/tinyguardrail-v0.6 --peers all
    tinyguardrail eval --peers none --suites-only ood_dev --out /tmp/x   # quick look, writes nothing in docs/

The suites are read from ``<data>/suites`` (``tinyguardrail eval suites`` writes them from a data build; this command
builds them when they are missing). Peers need ``scripts/peers/install.sh`` first; missing peers are skipped with a
note. Predictions are cached in ``build/eval_cache`` (per system and suite rows), so a rerun only scores what changed.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

from tinyguardrail.data.io import DEFAULT_BUILD
from tinyguardrail.eval import harness, ood, report
from tinyguardrail.forkmap import available_cpus


def named_path(spec: str) -> tuple[str, Path]:
    """``NAME=DIR`` -> ``(NAME, Path(DIR))``: the argparse ``type`` of every argument that names a model or an eval
    folder (``--baseline`` here, and the comparison scripts' positional arguments)."""
    name, sep, path = spec.partition("=")
    if not (sep and name and path):
        raise argparse.ArgumentTypeError(f"expected NAME=DIR, got {spec!r}")
    return name, Path(path)


def _roc(rows, pred) -> tuple[np.ndarray, np.ndarray]:
    y = np.array([r.is_attack for r in rows], dtype=bool)
    s = np.asarray(pred.scores)
    thr = np.unique(s)[::-1]
    neg, pos = s[~y], s[y]
    fpr = np.array([(neg >= t).mean() for t in thr])
    tpr = np.array([(pos >= t).mean() for t in thr])
    return np.concatenate([[0.0], fpr, [1.0]]), np.concatenate([[0.0], tpr, [1.0]])


def _latency_texts(suites: dict, n: int, seed: int = 0) -> list[str]:
    rows = suites["ood_dev"]
    idx = np.random.default_rng(seed).permutation(len(rows))[:n]
    return [rows[i].text for i in sorted(idx)]


def evaluate(systems: list, suites: dict, cache: Path | None, latency_n: int, progress=print) -> dict:
    """Every system on every suite (and on the latency sample); the JSON the report is written from."""
    lat_texts = _latency_texts(suites, latency_n) if latency_n and "ood_dev" in suites else []
    out: dict = {"systems": {}, "suite_order": list(suites), "suite_rows": {k: len(v) for k, v in suites.items()},
                 "latency_texts": len(lat_texts)}
    curves = {}
    for system in systems:
        entry: dict = {"ident": system.ident, "suites": {}}
        for name, rows in suites.items():
            if name in getattr(system, "skip", ()):
                continue
            t0 = time.perf_counter()
            pred = harness.cached(system, [r.text for r in rows], cache)
            entry["suites"][name] = harness.score_suite(rows, pred)
            progress(f"{system.name:<22} {name:<13} {len(rows):>6} rows  {time.perf_counter() - t0:7.1f} s")
            if name == "ood_dev":
                curves[system.name] = _roc(rows, pred)
        if lat_texts:
            entry["latency"] = harness.latency_summary(system.latency(lat_texts))
        if "ood_dev" in entry["suites"]:
            entry["weakest_ood_dev"] = harness.weakest_cells(entry["suites"]["ood_dev"])
        out["systems"][system.name] = entry
    out["_curves"] = curves
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?", default="run", choices=("run", "suites", "leakcheck", "calibrate"),
                   help="run (default): score and report; suites: build the suites from the data build; "
                        "leakcheck: the independent leak check of the data build and its suites; calibrate: the "
                        "model's attack threshold and uncertain band from the OOD-dev suite")
    p.add_argument("--data", type=Path, default=DEFAULT_BUILD, help="built data directory")
    p.add_argument("--model", type=Path, default=None, help="model directory (default: the shipped model)")
    p.add_argument("--name", default=None, help="name of the model in the report (default: its config name)")
    p.add_argument("--baseline", action="append", default=[], metavar="NAME=DIR", type=named_path,
                   help="another model folder scored in the same run (repeatable), e.g. an earlier version")
    p.add_argument("--peers", default="all", help="comma-separated peer names, 'all' (the installed ones) or 'none'")
    p.add_argument("--peers-root", type=Path, default=Path(".peers"))
    p.add_argument("--suites-only", default=None, help="comma-separated suite names (default: all)")
    p.add_argument("--pint", type=Path, default=None, metavar="YAML",
                   help="also score a PINT-format YAML file (list of {text, category, label}; e.g. the private PINT "
                        "set) as the suite 'pint', scored like PINT: the mean of per-(category, label) accuracies")
    p.add_argument("--out", type=Path, default=Path("docs"), help="report directory (RESULTS.md, eval/...)")
    p.add_argument("--cache", default="build/eval_cache", help="prediction cache folder ('' to disable)")
    p.add_argument("--latency-texts", type=int, default=300, help="OOD-dev texts timed one per call (0: skip)")
    p.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads of our models")
    p.add_argument("--seed", type=int, default=0, help="seed of the suite composition (action suites)")
    p.add_argument("--leaks-out", type=Path, default=None, help="leakcheck: write the JSON report here")
    p.add_argument("--attack-fpr", type=float, default=0.01, help="calibrate: OOD-dev benign rows blocked at most this often")
    p.add_argument("--flag-fpr", type=float, default=0.03,
                   help="calibrate: OOD-dev benign rows flagged (blocked or uncertain) at most this often")
    p.add_argument("--write", action="store_true", help="calibrate: write the thresholds into the model's config.json")


def _peer_systems(spec: str, root: Path) -> list:
    from tinyguardrail.eval.peers import PEERS, available_peers

    if spec == "none":
        return []
    installed = set(available_peers(root))
    names = sorted(PEERS) if spec == "all" else [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [n for n in names if n not in PEERS]
    if unknown:
        raise ValueError(f"unknown peers {unknown}; known: {sorted(PEERS)}")
    missing = [n for n in names if n not in installed]
    if missing:
        print(f"note: peers not installed (scripts/peers/install.sh): {', '.join(missing)}")
    return [harness.PeerSystem(n, root) for n in names if n in installed]


def run(args: argparse.Namespace) -> int:
    if args.action == "suites":
        return ood.run(argparse.Namespace(data=args.data, out=None, seed=args.seed))
    if args.action == "calibrate":
        from tinyguardrail.eval import calibrate

        if args.model is None:
            raise ValueError("calibrate needs --model DIR")
        return calibrate.run(args)
    if args.action == "leakcheck":
        from tinyguardrail.eval import leakcheck

        return leakcheck.run(argparse.Namespace(data=args.data, suites=None, out=args.leaks_out))
    suite_dir = args.data / "suites"
    if not (suite_dir / "manifest.json").exists():
        ood.write_suites(ood.build_suites(args.data, args.seed), suite_dir)
    names = args.suites_only.split(",") if args.suites_only else list(ood.ALL_SUITES)
    suites = ood.load_suites(suite_dir, names)
    if args.pint is not None:
        suites["pint"] = pint_suite(args.pint)
    systems: list = [harness.GuardSystem(args.model, args.name or "", threads=args.threads)]
    for name, path in args.baseline:
        systems.append(harness.GuardSystem(path, name, threads=args.threads))
    systems += _peer_systems(args.peers, args.peers_root)
    results = evaluate(systems, suites, Path(args.cache) if args.cache else None, args.latency_texts)
    curves = results.pop("_curves")
    results |= {"date": time.strftime("%Y-%m-%d"), "data": str(args.data), "suites": str(suite_dir),
                "primary": systems[0].name, "machine": f"{platform.machine()}, {available_cpus()} CPUs",
                "provenance": {s.name: harness.training_provenance(s.model_dir, args.data)
                               for s in systems if isinstance(s, harness.GuardSystem)}}
    eval_dir = args.out / "eval"
    eval_dir.mkdir(parents=True, exist_ok=True)
    plots = []
    if "ood_dev" in suites:
        report.plot_roc(results, curves, eval_dir / "roc_ood_dev.png")
        report.plot_recall_at_fpr(results, eval_dir / "recall_at_fpr.png")
        report.plot_languages(results, eval_dir / "languages.png")
        report.plot_accuracy_latency(results, eval_dir / "accuracy_latency.png")
        plots += ["roc_ood_dev.png", "recall_at_fpr.png", "languages.png", "accuracy_latency.png"]
    if "transforms" in suites:
        report.plot_transforms(results, eval_dir / "transforms.png")
        plots.append("transforms.png")
    results["plots"] = plots
    harness.write_json(eval_dir / "results.json", results)
    report.write_detail_md(results, eval_dir / "results.md")
    if "ood_dev" in suites:
        report.write_results_md(results, args.out / "RESULTS.md")
    print("\n".join(report.main_table(results)))
    print(f"wrote {args.out / 'RESULTS.md'}, {eval_dir}/results.json, results.md and {len(plots)} plots")
    return 0


def pint_suite(path: Path) -> list[ood.SuiteRow]:
    """A PINT-format YAML file as a suite: one cell per category."""
    from tinyguardrail.data.sources.pint_example import load_pint_yaml

    return [ood.SuiteRow(r.text, r.label, r.attack_type, "pint", r.lang, r.template_id) for r in load_pint_yaml(path)]

