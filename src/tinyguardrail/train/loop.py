"""The training loop, litgpt style: ``setup()`` builds everything, ``fit()`` runs the epochs, ``validate()`` scores.

One run config (JSON, ``{"model": {...}, "train": {...}}``) fully describes a run and is saved next to the weights.

Out directory::

    run_config.json      the resolved run config
    metrics.jsonl        one JSON line per epoch (train loss parts, validation metrics, lr, time)
    best/                best checkpoint by validation balanced accuracy (see train/checkpoint.py)
    last/                checkpoint of the last finished epoch + trainer state (``--resume`` continues from it)
    cache/               normalized texts and encoded features, keyed by file hashes (reused across runs)
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tinyguardrail.forkmap import available_cpus
from tinyguardrail.labels import LABELS
from tinyguardrail.model.config import GuardrailConfig, resolve_auto
from tinyguardrail.model.model import ROUTE_FAST, GuardrailModel, combine_probs, route_decision
from tinyguardrail.train import checkpoint as ckpt
from tinyguardrail.train import data as D
from tinyguardrail.train.adversarial import fgsm_loss
from tinyguardrail.train.config import DEFAULT_PROTOTYPE_PHRASES, TrainConfig
from tinyguardrail.train.losses import GuardrailLoss, xling_loss

# ------------------------------------------------------------------------------------------------- helpers


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {name}: CUDA is not available here")
    return dev


def lr_at(step: int, total: int, warmup: int, min_ratio: float) -> float:
    """Multiplier of the peak lr: linear warm-up to 1, then cosine to ``min_ratio`` (nanoGPT's get_lr)."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if total <= warmup:
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def freeze_parameters(model: torch.nn.Module, prefixes: list[str]) -> int:
    """Turn off the gradient of every parameter whose name starts with one of ``prefixes``; returns how many values
    that freezes. A prefix that matches nothing is an error (a typo would otherwise train everything)."""
    n = 0
    for prefix in prefixes:
        hits = [p for name, p in model.named_parameters() if name.startswith(prefix)]
        if not hits:
            raise ValueError(f"train.freeze: no parameter name starts with {prefix!r}")
        for p in hits:
            p.requires_grad_(False)
            n += p.numel()
    return n


def make_optimizer(model: GuardrailModel, cfg: TrainConfig, pretrained: set[str], fused: bool) -> torch.optim.AdamW:
    """AdamW with four groups: {pretrained, new} x {decay (matrices), no decay (biases, LayerNorms, prototypes)}."""
    groups: dict[tuple[bool, bool], list[torch.nn.Parameter]] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        decay = p.ndim >= 2 and not name.endswith("prototypes")
        groups.setdefault((name in pretrained, decay), []).append(p)
    param_groups = []
    for (is_pre, decay), params in sorted(groups.items()):
        scale = 1.0 if is_pre else cfg.new_param_lr_scale
        param_groups.append({"params": params, "weight_decay": cfg.weight_decay if decay else 0.0, "lr_scale": scale,
                             "lr": cfg.lr * scale})  # fmt: skip
    return torch.optim.AdamW(param_groups, lr=cfg.lr, betas=(0.9, 0.999), eps=1e-8, fused=fused or None)


def to_device(batch: dict[str, np.ndarray], device: torch.device) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in batch.items():
        t = torch.from_numpy(v)
        if device.type == "cuda":
            t = t.pin_memory().to(device, non_blocking=True)
        else:
            t = t.to(device)
        out[k] = t
    return out


MASK_TOKENS = ("[MASK]", "<mask>")  # WordPiece (MiniLM) and SentencePiece (e5) spellings


def mask_spec(tokenizer) -> tuple[int, list[int]]:
    """The mask token's id and the ids of every special token (never masked) of ``tokenizer``."""
    mask_id = next((i for t in MASK_TOKENS if (i := tokenizer.token_to_id(t)) is not None), None)
    if mask_id is None:
        raise ValueError(f"train.token_mask_prob needs a mask token ({' or '.join(MASK_TOKENS)}) in the tokenizer")
    return mask_id, sorted(tokenizer.get_added_tokens_decoder())


def mask_tokens(batch: dict[str, torch.Tensor], prob: float, mask_id: int, special_ids: list[int] | torch.Tensor,
                generator: torch.Generator) -> dict[str, torch.Tensor]:
    """A copy of ``batch`` whose text tokens are each replaced by ``mask_id`` with probability ``prob``, their
    character ids cleared (0 = pad); special and padding tokens are kept."""
    ids = batch["input_ids"]
    text = batch["attention_mask"].bool() & ~torch.isin(ids, torch.as_tensor(special_ids, device=ids.device))
    drop = text & (torch.rand(ids.shape, generator=generator, device=ids.device) < prob)
    out = dict(batch)
    out["input_ids"] = ids.masked_fill(drop, mask_id)
    out["char_ids"] = batch["char_ids"].masked_fill(drop.unsqueeze(-1), 0)
    return out


def _autocast(device: torch.device, bf16: bool):
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16)


# ------------------------------------------------------------------------------------------------- state


@dataclass
class Run:
    """Everything ``fit`` needs, built by ``setup``."""

    model: GuardrailModel
    optimizer: torch.optim.Optimizer
    loss_fn: GuardrailLoss
    train: D.Features
    val: D.Features
    cfg: TrainConfig
    run_config: dict[str, Any]
    tokenizer: Any
    device: torch.device
    bf16: bool
    out_dir: Path
    sample_weights: np.ndarray | None = None
    pretrained_params: list[str] = field(default_factory=list)
    start_epoch: int = 0
    step: int = 0
    best: float = -1.0
    best_epoch: int = -1
    history: list[dict[str, Any]] = field(default_factory=list)
    select: tuple[list, D.Features] | None = None  # (suite rows, their features): checkpoint selection
    xling_pairs: np.ndarray | None = None  # [M, 2] (row in another language, its English row): cross-lingual term


# ------------------------------------------------------------------------------------------------- setup


def setup(
    model_config: GuardrailConfig | dict[str, Any],
    train_config: TrainConfig,
    resume: bool = False,
    prepare_only: bool = False,
) -> dict[str, Any]:
    """Build data, tokenizer and model, then ``fit``. Returns a summary (best metric, epochs, paths).

    Args:
        model_config: a ``GuardrailConfig`` or a dict of its fields; ``vocab_size`` / ``pad_id`` /
            ``n_detector_feats`` may be "auto" (resolved from the tokenizer and the detector module).
        train_config: the ``TrainConfig``.
        resume: continue from ``<out_dir>/last`` (model config and tokenizer come from there).
        prepare_only: stop after the feature cache is written (to build it on a CPU machine).
    """
    cfg = train_config
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed)
    device = pick_device(cfg.device)
    if device.type == "cpu" and cfg.cpu_threads > 0:
        torch.set_num_threads(cfg.cpu_threads)
    bf16 = bool(cfg.bf16) if cfg.bf16 is not None else (device.type == "cuda" and torch.cuda.is_bf16_supported())
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    workers = available_cpus() if cfg.num_workers < 0 else cfg.num_workers  # a container's CPUs, not the host's
    cache_dir = Path(cfg.cache_dir) if cfg.cache_dir else out / "cache"
    log = _logger(cfg.progress)

    # --- model config as far as it is known before the tokenizer (resume: the saved one) ---
    model_dict = model_config.to_dict() if isinstance(model_config, GuardrailConfig) else dict(model_config)
    last = out / "last"
    if resume:
        if not (last / "checkpoint.json").is_file():
            raise FileNotFoundError(f"--resume: no checkpoint in {last}")
        model_dict = GuardrailConfig.load(last / "config.json").to_dict()
    elif cfg.init_checkpoint:
        model_dict = GuardrailConfig.load(Path(cfg.init_checkpoint) / "config.json").to_dict()
    names = D.detector_names()
    n_feats = model_dict.get("n_detector_feats", "auto")
    n_feats = (len(names) if names is not None else 0) if n_feats == "auto" else int(n_feats)

    src_args = dict(cache_dir=cache_dir, n_feats=n_feats, switches=cfg.front_end(), seed=cfg.seed, num_workers=workers,
                    progress=cfg.progress)  # fmt: skip
    train_src = D.SplitSource(D.split_path(cfg.data_dir, "train"), max_rows=cfg.max_train_rows, **src_args)
    val_src = D.SplitSource(D.split_path(cfg.data_dir, "validation"), max_rows=cfg.max_val_rows, **src_args)

    # --- tokenizer (and pretrained encoder) ---
    t0 = time.time()  # the data line's time: the tokenizer (it may run the training split's text stage) and features
    enc = None
    from tinyguardrail.model.tokenizer import load_tokenizer, pad_id, train_tokenizer

    if resume:
        tokenizer = load_tokenizer(last)
    elif cfg.init_checkpoint:
        tokenizer = load_tokenizer(Path(cfg.init_checkpoint))
    elif cfg.tokenizer:
        tokenizer = load_tokenizer(cfg.tokenizer)
    elif model_dict.get("init") == "pretrained":
        enc = _load_pretrained(model_dict, cfg, train_src)
        tokenizer = enc.tokenizer
    else:
        tokenizer = train_tokenizer(train_src.texts()[0], cfg.tokenizer_vocab_size)
    pad = int(enc.pad_id) if enc is not None else pad_id(tokenizer)
    model_dict = resolve_auto(model_dict, vocab_size=tokenizer.get_vocab_size(), pad_id=pad, n_detector_feats=n_feats)
    if names is not None and not model_dict.get("detector_names") and model_dict.get("n_detector_feats") == len(names):
        model_dict["detector_names"] = list(names)
    mcfg = GuardrailConfig.from_dict(model_dict)
    if tokenizer.get_vocab_size() != mcfg.vocab_size:
        raise ValueError(f"model.vocab_size {mcfg.vocab_size} != tokenizer vocabulary {tokenizer.get_vocab_size()}")
    if names is not None and mcfg.detector_names and tuple(mcfg.detector_names) != names:
        raise ValueError(f"model was configured for detectors {mcfg.detector_names}, text.detectors has {names}")

    xling = None  # the cross-lingual term's pairs, read before the features so a split without them fails at once
    if cfg.xling_weight > 0:
        xling = D.parallel_pairs(train_src.path, cfg.xling_sources, max_rows=cfg.max_train_rows, seed=cfg.seed)
        if len(xling) == 0:
            raise ValueError(f"train.xling_weight > 0 but the training split has no translation pairs from "
                             f"{cfg.xling_sources} (a carried split needs template_id, attack_type and lang: "
                             f"scripts/make_carry.py --meta)")

    # --- features (cached) ---
    shapes = dict(max_len=mcfg.max_len, max_chars=mcfg.max_chars, pad_id=mcfg.pad_id)
    train_feats = train_src.features(tokenizer, **shapes, allow_stale_front_end=cfg.allow_stale_features)
    val_feats = val_src.features(tokenizer, **shapes, allow_stale_front_end=cfg.allow_stale_features)
    if train_src.stale or val_src.stale:
        log("WARNING: cached features were built with other text front-end sources (allow_stale_features)")
    log(
        f"data: {len(train_feats)} train / {len(val_feats)} validation rows, {int(train_feats.lengths.sum())} train "
        f"tokens ({time.time() - t0:.1f}s with the tokenizer{_stages(train_src, val_src)}; uncached features: "
        f"{f'{workers} worker processes' if workers > 1 else 'in-process'})"
    )
    select = None
    if cfg.select_suite:
        from tinyguardrail.eval.ood import read_suite

        sel_src = D.SplitSource(Path(cfg.select_suite), **src_args)
        select = (read_suite(Path(cfg.select_suite)),
                  sel_src.features(tokenizer, **shapes, allow_stale_front_end=cfg.allow_stale_features))
        log(f"checkpoint selection on {cfg.select_suite}: {len(select[0])} rows{_stages(sel_src)}")
    if xling is not None:
        if int(xling.max()) >= len(train_feats):
            raise ValueError("train.xling: pair rows beyond the training features (split and cache disagree)")
        xling = D.short_pairs(xling, train_feats.lengths, cfg.xling_max_len)
        if len(xling) == 0:
            raise ValueError(f"train.xling_max_len {cfg.xling_max_len}: no translation pair is that short")
        log(f"cross-lingual term: {len(xling)} translation pairs, {cfg.xling_pairs} per step")
    run_config = {"model": mcfg.to_dict(), "train": cfg.to_dict()}
    (out / "run_config.json").write_text(json.dumps(run_config, indent=2) + "\n", encoding="utf-8")
    if prepare_only:
        return {"out_dir": str(out), "prepared": True, "train_rows": len(train_feats), "val_rows": len(val_feats)}

    # --- model, loss, optimizer ---
    if cfg.init_seed is not None and not resume:  # the same start for every run of this init_seed (model soups)
        seed_everything(cfg.init_seed)
    model = GuardrailModel(mcfg)
    pretrained: set[str] = set()
    if resume:  # the optimizer groups must be rebuilt exactly as in the first session
        pretrained = set(ckpt.read_trainer_meta(last)["counters"].get("pretrained_params", []))
    if enc is not None:
        from tinyguardrail.model.init import init_from_pretrained

        pretrained = set(init_from_pretrained(model, enc))
    if cfg.init_checkpoint and not resume:
        model.load_state_dict(ckpt.load_state_dict_sharded(Path(cfg.init_checkpoint)), strict=True)
        pretrained = {n for n, _ in model.named_parameters()}
        log(f"initialised from {cfg.init_checkpoint}")
    elif not resume:
        _seed_prototypes(model, tokenizer, cfg, log)
    if cfg.init_seed is not None and not resume:
        seed_everything(cfg.seed)  # the run's own stream from here on: dropout, augmentation
    model.to(device)
    cw = None
    sample_weights = None
    weights = D.class_weights(train_feats.labels, mcfg.n_classes, cfg.balance_power)
    if cfg.balance == "class_weights":
        cw = torch.tensor(weights)
    elif cfg.balance == "sampler":
        sample_weights = weights[train_feats.labels]
    frozen = freeze_parameters(model, cfg.freeze or [])
    if frozen:
        log(f"frozen: {frozen:,} parameters ({', '.join(cfg.freeze or [])})")
    optimizer = make_optimizer(model, cfg, pretrained, fused=device.type == "cuda")
    run = Run(model=model, optimizer=optimizer, loss_fn=GuardrailLoss(mcfg, cfg, cw), train=train_feats, val=val_feats,
              cfg=cfg, run_config=run_config, tokenizer=tokenizer, device=device, bf16=bf16, out_dir=out,
              sample_weights=sample_weights, pretrained_params=sorted(pretrained), select=select,
              xling_pairs=xling)  # fmt: skip
    if resume:
        model.load_state_dict(ckpt.load_state_dict_sharded(last), strict=True)
        counters = ckpt.load_trainer_state(last, optimizer)
        run.start_epoch, run.step = int(counters["epoch"]), int(counters["step"])
        run.best, run.best_epoch = float(counters["best"]), int(counters["best_epoch"])
        _truncate_metrics(out / "metrics.jsonl", run.start_epoch)
        log(f"resumed from {last} at epoch {run.start_epoch}")
    else:  # a fresh run in a used folder starts a new history: best/ will be this run's, so must its metrics
        (out / "metrics.jsonl").unlink(missing_ok=True)
    log(f"model: {model.num_parameters():,} parameters on {device}{' (bf16 autocast)' if bf16 else ''}")
    return fit(run)


def _load_pretrained(model_dict: dict[str, Any], cfg: TrainConfig, train_src: D.SplitSource):
    from tinyguardrail.model import pretrained as P

    if cfg.pretrained_dir:
        return P.load_compact(cfg.pretrained_dir)
    texts = train_src.texts()[0]
    n_layers = int(model_dict.get("n_fast_layers", 2)) * bool(model_dict.get("use_fast_branch", True))
    n_layers += int(model_dict.get("n_deep_layers", 4)) * bool(model_dict.get("use_deep_branch", True))
    return P.load_pretrained(model_dict["pretrained_name"], corpus_texts=texts, n_layers=n_layers,
                             min_count=cfg.pretrained_min_count, max_vocab=cfg.pretrained_max_vocab)  # fmt: skip


@torch.no_grad()
def _seed_prototypes(model: GuardrailModel, tokenizer, cfg: TrainConfig, log) -> None:
    phrases = list(DEFAULT_PROTOTYPE_PHRASES if cfg.prototype_phrases is None else cfg.prototype_phrases)
    if not phrases or model.fast is None or model.fast.bank is None:
        return
    from tinyguardrail.features import encode_batch

    mc = model.config
    try:
        texts, det = D.prepare_texts(phrases, mc.n_detector_feats, cfg.front_end())
    except ImportError as exc:  # a machine training from a feature cache may lack the text front end's packages
        log(f"pattern bank: text front end unavailable ({exc}); seeding from raw phrases without detector scores")
        texts, det = phrases, np.zeros((len(phrases), mc.n_detector_feats), dtype=np.float32)
    rows = iter(det)
    enc = encode_batch(tokenizer, texts, mc.max_len, mc.max_chars, lambda _t: next(rows), mc.pad_id)
    was = model.training
    model.eval()
    keys = ("input_ids", "attention_mask", "char_ids", "detector_feats")
    vecs = model.pooled_fast(*(torch.from_numpy(enc[k]) for k in keys))
    model.train(was)
    n = model.seed_prototypes(vecs)
    log(f"pattern bank: {n} of {mc.n_prototypes} prototypes seeded from attack phrases")


def _truncate_metrics(path: Path, start_epoch: int) -> None:
    """Drop metric lines of epochs that will be re-run (a crash between logging and checkpointing)."""
    if not path.is_file():
        return
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    keep = [ln for ln in lines if json.loads(ln).get("epoch", 0) < start_epoch]
    path.write_text("".join(ln + "\n" for ln in keep), encoding="utf-8")


def _stages(*sources) -> str:
    """The stages the sources ran, with their wall times: where a cold cache build spends its time (the GPU side's)."""
    return "".join(f", {src.split} {k.replace('_', ' ')} {v:.1f}s" for src in sources for k, v in src.seconds.items())


def _logger(enabled: bool):
    def log(msg: str) -> None:
        if enabled:
            print(f"[train] {msg}", file=sys.stderr, flush=True)

    return log


# ------------------------------------------------------------------------------------------------- fit


def _epoch_batches(run: Run, epoch: int) -> list[np.ndarray]:
    rng = np.random.default_rng([run.cfg.seed, epoch])  # each epoch's order is fixed by (seed, epoch): resumable
    return D.make_batches(run.train.lengths, run.cfg.batch_size, rng, run.cfg.bucket_batches, run.sample_weights)


def _xling_step(run: Run, model: GuardrailModel) -> torch.Tensor:
    """The cross-lingual term of this step: ``cfg.xling_pairs`` pairs drawn by (seed, step), so a resumed run draws
    as an uninterrupted one; the English rows (the teacher) go through the model without a graph."""
    rng = np.random.default_rng([run.cfg.seed, 7919, run.step])
    pick = run.xling_pairs[rng.integers(0, len(run.xling_pairs), size=run.cfg.xling_pairs)]
    keys = ("input_ids", "attention_mask", "char_ids", "detector_feats")
    other = to_device(run.train.batch(pick[:, 0], model.config.pad_id), run.device)
    anchor = to_device(run.train.batch(pick[:, 1], model.config.pad_id), run.device)
    with torch.no_grad():
        teacher = model(*(anchor[k] for k in keys))["pooled"]
    return xling_loss(model(*(other[k] for k in keys))["pooled"], teacher)


def fit(run: Run) -> dict[str, Any]:
    """Train from ``run.start_epoch`` to ``cfg.epochs``; validate, keep the best and the last checkpoint."""
    cfg, model, opt = run.cfg, run.model, run.optimizer
    log = _logger(cfg.progress)
    steps_per_epoch = len(_epoch_batches(run, 0))
    total = steps_per_epoch * cfg.epochs
    warmup = int(cfg.warmup_ratio * total)
    metrics_path = run.out_dir / "metrics.jsonl"
    from tqdm.auto import tqdm

    end = cfg.epochs if cfg.run_epochs is None else min(cfg.epochs, run.start_epoch + cfg.run_epochs)
    masking = None
    if cfg.token_mask_prob > 0:
        mask_id, special = mask_spec(run.tokenizer)
        masking = (mask_id, torch.tensor(special, device=run.device))
    for epoch in range(run.start_epoch, end):
        t0 = time.time()
        model.train()
        use_fgsm = cfg.fgsm_epsilon > 0 and epoch >= cfg.fgsm_start_epoch
        sums: dict[str, torch.Tensor] = {}
        n_steps = 0
        lr_mult = 0.0
        bar = tqdm(_epoch_batches(run, epoch), desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not cfg.progress,
                   leave=False, mininterval=0.5 if sys.stderr.isatty() else 30.0)  # fmt: skip
        for idx in bar:
            b = to_device(run.train.batch(idx, model.config.pad_id), run.device)
            if masking is not None:  # drawn per (seed, step): a resumed run masks as an uninterrupted one
                gen = torch.Generator(device=run.device).manual_seed(cfg.seed * 1_000_003 + run.step)
                b = mask_tokens(b, cfg.token_mask_prob, *masking, generator=gen)
            lr_mult = lr_at(run.step, total, warmup, cfg.min_lr_ratio)
            for g in opt.param_groups:
                g["lr"] = cfg.lr * g.get("lr_scale", 1.0) * lr_mult
            with _autocast(run.device, run.bf16):
                emb = model.embed(b["input_ids"], b["char_ids"], b["detector_feats"])
                out = model.forward_from_embeddings(emb, b["attention_mask"], b["detector_feats"])
                loss, parts = run.loss_fn(out, b["labels"])
                if use_fgsm:
                    adv = fgsm_loss(model, run.loss_fn, emb, loss, b["attention_mask"], b["detector_feats"],
                                    b["labels"], cfg.fgsm_epsilon)  # fmt: skip
                    parts["fgsm"] = (cfg.fgsm_weight * adv).detach()
                    loss = loss + cfg.fgsm_weight * adv
                if run.xling_pairs is not None:
                    xl = _xling_step(run, model)
                    parts["xling"] = (cfg.xling_weight * xl).detach()
                    loss = loss + cfg.xling_weight * xl
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            parts["total"] = loss.detach()
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v.float()
            n_steps += 1
            run.step += 1
            if cfg.progress and n_steps % 20 == 0:
                bar.set_postfix(loss=f"{float(sums['total']) / n_steps:.4f}", refresh=False)
        train_parts = {k: float(v) / max(1, n_steps) for k, v in sums.items()}
        record: dict[str, Any] = {"epoch": epoch, "step": run.step, "lr": cfg.lr * lr_mult, "fgsm": use_fgsm,
                                  "train": train_parts, "train_time_s": round(time.time() - t0, 2)}  # fmt: skip
        if (epoch + 1) % cfg.eval_every_epoch == 0 or epoch == cfg.epochs - 1:
            t1 = time.time()
            val = validate(model, run.val, run.device, cfg.eval_batch_size, run.bf16, run.loss_fn)
            record["val"] = val
            metric = val["balanced_accuracy"]
            if run.select is not None:
                from tinyguardrail.eval.calibrate import operating_point

                rows, feats = run.select
                probs = predict_probs(model, feats, run.device, cfg.eval_batch_size, run.bf16)
                record["select"] = operating_point(rows, 1.0 - probs[:, 0], cfg.select_fpr)
                metric = record["select"]["pint_score"]
            record["val_time_s"] = round(time.time() - t1, 2)
            if metric > run.best:
                run.best, run.best_epoch = metric, epoch
                ckpt.save_checkpoint(run.out_dir / "best", model, run.run_config, run.tokenizer,
                                     info={"epoch": epoch, "step": run.step, "metrics": val})  # fmt: skip
        record["time_s"] = round(time.time() - t0, 2)
        counters = {"epoch": epoch + 1, "step": run.step, "best": run.best, "best_epoch": run.best_epoch,
                    "pretrained_params": run.pretrained_params}  # fmt: skip
        ckpt.save_checkpoint(run.out_dir / "last", model, run.run_config, run.tokenizer,
                             info={"epoch": epoch, "step": run.step, "metrics": record.get("val")},
                             extra_files=ckpt.trainer_state_files(opt, counters))  # fmt: skip
        with open(metrics_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        run.history.append(record)
        v, sel = record.get("val"), record.get("select")
        log(f"epoch {epoch + 1}/{cfg.epochs} loss {train_parts.get('total', float('nan')):.4f}"
            + (f" | val acc {v['accuracy']:.4f} bal {v['balanced_accuracy']:.4f} early-exit {v['early_exit_share']:.2f}"
               if v else "") + (f" | select {sel['pint_score']:.4f}" if sel else "")
            + f" | {record['time_s']:.1f}s")  # fmt: skip
    return {"out_dir": str(run.out_dir), "best_metric": run.best,
            "best_metric_name": "select" if run.select is not None else "validation_balanced_accuracy",
            "best_epoch": run.best_epoch,
            "epochs_done": end, "epochs": cfg.epochs, "steps": run.step, "history": run.history}  # fmt: skip


# ------------------------------------------------------------------------------------------------- validate


@torch.no_grad()
def predict_probs(model: GuardrailModel, feats: D.Features, device: torch.device, batch_size: int = 128,
                  bf16: bool = False) -> np.ndarray:
    """Class probabilities [N, 4] of ``feats`` (in feature order) with the runtime's combine rule."""
    was = model.training
    model.eval()
    out_p = np.zeros((len(feats), model.config.n_classes), dtype=np.float32)
    for idx in D.make_batches(feats.lengths, batch_size, None):
        b = to_device(feats.batch(idx, model.config.pad_id), device)
        with _autocast(device, bf16):
            out = model(b["input_ids"], b["attention_mask"], b["char_ids"], b["detector_feats"])
        p = combine_probs(out["fast_logits"], out["deep_logits"], out["router_logits"], model.config.early_exit_threshold,
                          model.config.early_exit_gate)
        out_p[np.asarray(idx)] = p.float().cpu().numpy()
    model.train(was)
    return out_p


@torch.no_grad()
def validate(
    model: GuardrailModel,
    feats: D.Features,
    device: torch.device,
    batch_size: int = 128,
    bf16: bool = False,
    loss_fn: GuardrailLoss | None = None,
) -> dict[str, Any]:
    """Score ``feats`` with the runtime's combine rule (router + early-exit threshold).

    Returns accuracy, balanced_accuracy (mean recall over classes present), per_class_recall, fast_accuracy,
    deep_accuracy, early_exit_share (rows answered by the fast branch alone), route shares, binary attack recall and
    benign false-positive rate, mean loss (when ``loss_fn`` is given) and the row count.
    """
    was = model.training
    model.eval()
    thr, gate = model.config.early_exit_threshold, model.config.early_exit_gate
    probs, routes, fast_pred, deep_pred, labels = [], [], [], [], []
    loss_sum, n_rows = 0.0, 0
    for idx in D.make_batches(feats.lengths, batch_size, None):
        b = to_device(feats.batch(idx, model.config.pad_id), device)
        with _autocast(device, bf16):
            out = model(b["input_ids"], b["attention_mask"], b["char_ids"], b["detector_feats"])
        if loss_fn is not None:
            loss_sum += float(loss_fn(out, b["labels"])[0]) * len(idx)
        probs.append(combine_probs(out["fast_logits"], out["deep_logits"], out["router_logits"], thr, gate).cpu())
        routes.append(route_decision(out["fast_logits"], out["router_logits"], thr, gate).cpu())
        fast_pred.append(out["fast_logits"].argmax(-1).cpu())
        deep_pred.append(out["deep_logits"].argmax(-1).cpu())
        labels.append(b["labels"].cpu())
        n_rows += len(idx)
    model.train(was)
    p = torch.cat(probs).numpy()
    y = torch.cat(labels).numpy()
    route = torch.cat(routes).numpy()
    pred = p.argmax(-1)
    res = classification_metrics(y, pred)
    res.update(
        fast_accuracy=float((torch.cat(fast_pred).numpy() == y).mean()),
        deep_accuracy=float((torch.cat(deep_pred).numpy() == y).mean()),
        early_exit_share=float((route == ROUTE_FAST).mean()),
        route_share={name: float((route == i).mean()) for i, name in enumerate(("fast", "deep", "both"))},
        rows=n_rows,
    )
    if loss_fn is not None:
        res["loss"] = loss_sum / max(1, n_rows)
    return res


def classification_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    """accuracy, balanced accuracy, per-class recall, binary attack recall and benign false-positive rate."""
    recalls = {}
    for c, name in enumerate(LABELS):
        m = y == c
        if m.any():
            recalls[name] = float((pred[m] == c).mean())
    attack, benign = y != 0, y == 0
    return {
        "accuracy": float((pred == y).mean()) if len(y) else float("nan"),
        "balanced_accuracy": float(np.mean(list(recalls.values()))) if recalls else float("nan"),
        "per_class_recall": recalls,
        "attack_recall": float((pred[attack] != 0).mean()) if attack.any() else float("nan"),
        "benign_fpr": float((pred[benign] != 0).mean()) if benign.any() else float("nan"),
    }
