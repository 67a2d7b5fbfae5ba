"""``tinyguardrail export``: a training checkpoint -> a runtime model directory (quantized ONNX).

    tinyguardrail export --checkpoint runs/base/best --out models/base --quant int8-rowwise \\
        --calib build/data/validation.jsonl.gz

writes into ``--out``::

    fast.onnx, deep.onnx      the chosen variant (deep.onnx absent for a model without a deep branch)
    tokenizer.json            copied from the checkpoint
    config.json               runtime fields (format_version 1, labels, max_len, max_chars, char_vocab, detector_names,
                              pad_id, early_exit_threshold, front_end, files, sha256 of every file) + the model config
    export_report.json        every variant's size, batch-1 latency on one thread, agreement with the PyTorch fp32
                              model, accuracy on the --calib rows held out from calibration, and batch invariance
                              (each text alone vs inside padded batches of other texts)

``--calib`` rows are split: the first ``--calib-size`` (seeded sample) calibrate static quantization, the next
``--eval-size`` measure the variants. Without ``--calib`` the variants are measured on random inputs (agreement only)
and the static variants (``int8-static``, ``int8-static-nomask``) cannot be built. The default variant,
``int8-rowwise``, quantizes activations per token, so a text's verdict does not depend on its batch
(``export.quantize``; ``int8-dynamic``'s per-call activation scales do not have that property). Texts go through
the front end the checkpoint was trained with (``preprocess.py``: its ``train_config.json`` switches ``normalize``
and ``detector_input``, also written to ``config.json``'s ``front_end``, which ``Guard.load`` checks against the
runtime's), truncated to ``max_len`` tokens.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from tinyguardrail.export.quantize import QUANT_CHOICES, STATIC_VARIANTS, VARIANTS, pad_batch
from tinyguardrail.labels import EXIT_GATES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, type=Path, help="checkpoint directory (train output)")
    parser.add_argument("--out", required=True, type=Path, help="model directory to write (e.g. models/base)")
    parser.add_argument(
        "--quant", default="int8-rowwise", choices=(*QUANT_CHOICES, "auto"),
        help="variant to ship (default int8-rowwise; auto: smallest batch-invariant variant whose label agreement "
             "is >= 0.99)",
    )  # fmt: skip
    parser.add_argument("--calib", type=Path, default=None, help="labelled JSONL.gz (validation split) for calibration")
    parser.add_argument("--calib-size", type=int, default=128, help="texts used to calibrate the static variants")
    parser.add_argument("--eval-size", type=int, default=256, help="texts used to measure the variants")
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help=f"comma-separated variants to build and measure ({VARIANTS})"
    )
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads for the latency measurement")
    parser.add_argument("--name", default=None, help="model name in config.json (default: the --out folder name)")
    parser.add_argument("--keep-fp32", action="store_true", help="also write fast.fp32.onnx / deep.fp32.onnx")
    parser.add_argument("--seed", type=int, default=0, help="seed of the calibration / evaluation sample")
    parser.add_argument("--no-split-chars", dest="split_chars", action="store_false",
                        help="keep the character CNN inside fast.onnx (default: cut it out into char.onnx, whose "
                             "output the runtime caches per token)")
    parser.add_argument("--early-exit-gate", choices=EXIT_GATES, default=None,
                        help="what an early exit needs: 'label' (the router's fast choice and a sure class), "
                             "'attack' (the router's fast choice and a sure block-or-allow decision; the attack type "
                             "is then the fast branch's) or 'decision' (a sure block-or-allow decision unless the "
                             "router chose the deep branch alone). Default: the checkpoint's early_exit_gate (label for checkpoints "
                             "older than the setting)")


def run(args: argparse.Namespace) -> int:
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    result = export_model(
        args.checkpoint,
        args.out,
        quant=args.quant,
        calib=args.calib,
        calib_size=args.calib_size,
        eval_size=args.eval_size,
        variants=variants,
        threads=args.threads,
        name=args.name,
        keep_fp32=args.keep_fp32,
        seed=args.seed,
        split_chars=args.split_chars,
        early_exit_gate=args.early_exit_gate,
    )
    from tinyguardrail.export.quantize import format_table

    print(format_table(result["variants"]))
    print(f"shipped {result['chosen']} -> {args.out} ({result['shipped_bytes'] / 1e6:.2f} MB of ONNX)")
    return 0


# ----------------------------------------------------------------------------------------------- pieces




def load_model(checkpoint: str | Path):
    """The PyTorch model of a checkpoint directory (``GuardrailModel.from_checkpoint``), in eval mode."""
    from tinyguardrail.model.model import GuardrailModel

    return GuardrailModel.from_checkpoint(checkpoint)


def resolve_detector_names(n_feats: int) -> list[str]:
    """Names of the model's detector features as the runtime front end provides them."""
    if n_feats == 0:
        return []
    from tinyguardrail.preprocess import detector_names

    names = detector_names()
    if names is None:
        raise ValueError(
            f"the model reads {n_feats} detector features but tinyguardrail.text.detectors is not available to name them"
        )
    if len(names) != n_feats:
        raise ValueError(f"the model reads {n_feats} detector features, text.detectors provides {len(names)}")
    return list(names)


def batch_feeds(feeds: list[dict[str, np.ndarray]], size: int, pad_id: int) -> list[dict[str, np.ndarray]]:
    """Group batch-1 feeds into padded batches of ``size`` (calibration runs faster on batches)."""
    return [pad_batch(feeds[i : i + size], pad_id) for i in range(0, len(feeds), size)]


def runtime_config(
    model, name: str, files: dict[str, str | None], out: Path, variant: str, info: dict[str, Any],
    front_end: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``config.json`` of a model directory (``artifact.build_config``, what ``artifact.ModelConfig`` reads)."""
    from tinyguardrail.artifact import build_config

    return build_config(model.config, name=name, detector_names=resolve_detector_names(int(model.config.n_detector_feats)),
                        files=files, folder=out, quantization=variant,
                        parameters=sum(p.numel() for p in model.parameters()), export_info=info, front_end=front_end)


def export_model(
    checkpoint: str | Path,
    out: str | Path,
    *,
    quant: str = "int8-rowwise",
    calib: str | Path | None = None,
    calib_size: int = 128,
    eval_size: int = 256,
    variants: list[str] | None = None,
    threads: int = 1,
    name: str | None = None,
    keep_fp32: bool = False,
    seed: int = 0,
    split_chars: bool = True,
    model=None,
    tokenizer_path: str | Path | None = None,
    early_exit_gate: str | None = None,
) -> dict[str, Any]:
    """Export a checkpoint to a runtime model directory; see the module docstring.

    Args:
        checkpoint: checkpoint directory (``config.json``, weights, ``tokenizer.json``).
        out: model directory to write.
        quant: the variant to ship (one of ``export.quantize.QUANT_CHOICES``) or ``auto``.
        calib: labelled JSONL.gz for calibration and measurement (validation split).
        calib_size, eval_size: rows for calibration and for measurement.
        variants: variants to build and measure (the shipped one is always included).
        threads: intra-op threads for latency.
        name: model name (default: ``out``'s folder name).
        keep_fp32: also copy the fp32 graphs into ``out``.
        seed: sampling seed.
        split_chars: ship the character CNN as ``char.onnx`` and a fast graph that takes its vectors
            (``export.split``; same arithmetic, and the runtime caches the vectors per token).
        model: an already loaded model (skips loading ``checkpoint``; tests).
        tokenizer_path: tokenizer.json to ship (default: ``checkpoint/tokenizer.json``).
        early_exit_gate: the runtime's early-exit gate (``labels.EXIT_GATES``) instead of the checkpoint's; it is
            written into ``config.json`` and used by the measurement of the variants.

    Returns:
        the export report (also written to ``out/export_report.json``).
    """
    from tokenizers import Tokenizer

    from tinyguardrail.export.onnx import FAST_INPUTS, FAST_OUTPUTS, example_inputs, export_onnx
    from tinyguardrail.export.quantize import build_variants, choose_variant, evaluate_variants, split_batch1
    from tinyguardrail.export.split import split_fast_graph
    from tinyguardrail.model.checkpoint import checkpoint_front_end
    from tinyguardrail.preprocess import encode_texts_batch1

    out = Path(out)
    checkpoint = Path(checkpoint)
    model = model if model is not None else load_model(checkpoint)
    if early_exit_gate is not None:
        model.config = dataclasses.replace(model.config, early_exit_gate=early_exit_gate)
    cfg = model.config
    front_end = checkpoint_front_end(checkpoint)
    tok_src = Path(tokenizer_path) if tokenizer_path is not None else checkpoint / "tokenizer.json"
    if not tok_src.is_file():
        raise FileNotFoundError(f"{tok_src} not found: the checkpoint must carry its tokenizer.json")
    tokenizer = Tokenizer.from_file(str(tok_src))
    if tokenizer.get_vocab_size(with_added_tokens=True) > int(cfg.vocab_size):
        raise ValueError(f"{tok_src}: tokenizer has more ids than the model's vocab_size {cfg.vocab_size}")
    if quant != "auto" and quant not in QUANT_CHOICES:
        raise ValueError(f"--quant must be one of {QUANT_CHOICES} or auto")
    wanted = list(variants or VARIANTS)
    if quant != "auto" and quant not in wanted:
        wanted.append(quant)
    if "fp32" not in wanted:
        wanted.insert(0, "fp32")

    calib_feeds, eval_feeds, labels, data_info = None, None, None, {"source": "random inputs"}
    if calib is not None:
        from tinyguardrail.data.io import read_labelled_texts

        texts, y = read_labelled_texts(calib, max_rows=calib_size + eval_size, seed=seed)
        order = np.random.default_rng(seed).permutation(len(texts))
        texts, y = [texts[i] for i in order], y[order]
        n_cal = min(calib_size, max(1, len(texts) // 2))
        feeds = encode_texts_batch1(texts, tokenizer, cfg, front_end)
        calib_feeds = batch_feeds(feeds[:n_cal], 8, int(cfg.pad_id))
        eval_feeds, labels = feeds[n_cal:] or feeds, (y[n_cal:] if len(feeds) > n_cal else y)
        data_info = {"source": str(calib), "calibration_rows": n_cal, "evaluation_rows": len(eval_feeds)}
    if quant in STATIC_VARIANTS and not calib_feeds:
        raise ValueError(f"--quant {quant} needs --calib (calibration inputs)")
    if eval_feeds is None:
        rng = np.random.default_rng(seed)
        rand = [
            example_inputs(model, batch=4, seq=int(s), seed=seed + i) for i, s in enumerate(rng.integers(4, 64, 32))
        ]
        eval_feeds = split_batch1(rand)

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tg-export-") as work:
        work = Path(work)
        exported = export_onnx(model, work)
        built = build_variants(exported, work, wanted, calib_feeds=calib_feeds)
        report = evaluate_variants(built, eval_feeds, torch_model=model, labels=labels, threads=threads)
        chosen = choose_variant(report) if quant == "auto" else quant
        if chosen not in built:
            raise ValueError(f"variant {chosen!r} could not be built")
        files: dict[str, str | None] = {"fast": "fast.onnx", "deep": None, "tokenizer": "tokenizer.json"}
        for stale in ("fast.onnx", "deep.onnx", "char.onnx", "fast.fp32.onnx", "deep.fp32.onnx"):
            (out / stale).unlink(missing_ok=True)
        if split_chars and getattr(model.config, "use_char_cnn", False):
            # the character CNN as a graph of its own, so the runtime caches its output per token (same arithmetic)
            split_fast_graph(built[chosen]["fast"], out / "char.onnx", out / "fast.onnx", FAST_INPUTS, FAST_OUTPUTS,
                             int(model.config.d_model), int(model.config.max_chars), char_src=exported.fast)
            files = {"fast": "fast.onnx", "char": "char.onnx", "deep": None, "tokenizer": "tokenizer.json"}
        else:
            shutil.copyfile(built[chosen]["fast"], out / "fast.onnx")
        if built[chosen].get("deep") is not None:
            shutil.copyfile(built[chosen]["deep"], out / "deep.onnx")
            files["deep"] = "deep.onnx"
        if keep_fp32:
            shutil.copyfile(exported.fast, out / "fast.fp32.onnx")
            if exported.deep is not None:
                shutil.copyfile(exported.deep, out / "deep.fp32.onnx")
        shutil.copyfile(tok_src, out / "tokenizer.json")
        info = dict(exported.info)
        ckpt_json = checkpoint / "checkpoint.json"
        if ckpt_json.is_file():
            info["checkpoint"] = json.loads(ckpt_json.read_text(encoding="utf-8"))
        info["checkpoint_dir"] = str(checkpoint)
        try:
            import onnxruntime

            info["onnxruntime"] = onnxruntime.__version__
        except ImportError:  # pragma: no cover
            pass
        config = runtime_config(model, name or out.name, files, out, chosen, info, front_end.config())
        (out / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")

    shipped = sum((out / f).stat().st_size for k, f in files.items() if f is not None and k != "tokenizer")
    result = {
        "chosen": chosen,
        "requested": quant,
        "shipped_bytes": shipped,
        "threads": threads,
        "data": data_info,
        "variants": report,
        "notes": {
            "latency_ms": "mean over batch-1 inputs, fast + deep graph always run (no early exit), one thread",
            "label_agreement": "final label under artifact.combine_probs vs the PyTorch fp32 model",
        },
    }
    (out / "export_report.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result
