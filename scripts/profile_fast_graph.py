"""Where the fast graph's time goes on long texts: ONNX Runtime's own profiler, one thread, on the fast-graph inputs
that ``Guard.check`` builds for the benchmark's prompts mix texts over 1,800 characters (one or two 512-token
windows each). Prints and writes the mean time per call (timed without the profiler) and each operator type's share
of the kernel time (from a profiled session).

    python scripts/profile_fast_graph.py models/tinyguardrail-v0.9 build/baselines/tinyguardrail-v0.6 \
        --out docs/ablations/v14/fast_graph_profile.json
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import tempfile
import time
from pathlib import Path

import onnxruntime as ort

from tinyguardrail.data.io import default_data_root
from tinyguardrail.eval.bench import load_mix
from tinyguardrail.runtime.guard import Guard


def profile(model: Path, texts: list[str], min_chars: int) -> dict:
    guard = Guard.load(model, threads=1)
    feeds = []
    run = guard._fast.run

    def capture(names, enc):
        feeds.append({k: v.copy() for k, v in enc.items()})
        return run(names, enc)

    guard._fast.run = capture
    for t in texts:
        if len(t) > min_chars:
            guard.check(t)
    def session(profiling: bool, prefix: str = "") -> ort.InferenceSession:
        so = ort.SessionOptions()
        so.intra_op_num_threads = so.inter_op_num_threads = 1
        so.enable_profiling = profiling
        if profiling:
            so.profile_file_prefix = prefix
        return ort.InferenceSession(str(model / guard.files["fast"]), so, providers=["CPUExecutionProvider"])

    def run_all(s: ort.InferenceSession) -> float:
        names = [i.name for i in s.get_inputs()]
        for f in feeds[:3]:
            s.run(None, {k: f[k] for k in names})
        t0 = time.perf_counter()
        for _ in range(3):
            for f in feeds:
                s.run(None, {k: f[k] for k in names})
        return (time.perf_counter() - t0) / (3 * len(feeds)) * 1000

    per_call = run_all(session(False))  # timed without the profiler, whose overhead grows with the node count
    with tempfile.TemporaryDirectory() as tmp:
        profiled = session(True, os.path.join(tmp, "prof"))
        run_all(profiled)
        events = json.loads(Path(profiled.end_profiling()).read_text())
    ops: collections.Counter = collections.Counter()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            ops[e["args"]["op_name"]] += e["dur"]
    total = sum(ops.values())
    return {"model": str(model), "calls": len(feeds), "rows_per_call": [int(f["input_ids"].shape[0]) for f in feeds],
            "ms_per_call": round(per_call, 2),
            "op_share_pct": {k: round(100 * v / total, 1) for k, v in ops.most_common()}}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+", type=Path)
    p.add_argument("--min-chars", type=int, default=1800)
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args()
    texts, _ = load_mix(default_data_root(), 300, 0)
    out = [profile(m, texts, a.min_chars) for m in a.models]
    for r in out:
        print(f"{r['model']}: {r['ms_per_call']} ms per call over {r['calls']} calls; "
              + ", ".join(f"{k} {v}%" for k, v in list(r["op_share_pct"].items())[:10]))
    if a.out:
        a.out.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
