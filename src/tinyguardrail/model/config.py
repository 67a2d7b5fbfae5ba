"""The one configuration of the dual-branch guard model (SPEC section 4).

``GuardrailModel(config)`` takes nothing else; the config is saved as ``config.json`` next to the weights and is
enough to rebuild the model. Every component has a ``use_*`` switch so ablations are config edits.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyguardrail.labels import EXIT_GATES

#: Bumped when a saved config would no longer rebuild the same module tree.
CONFIG_FORMAT_VERSION = 1

_INITS = ("random", "pretrained")
_POOLINGS = ("mean", "cls")



#: Loss weights that were model fields before they moved to ``TrainConfig`` (checkpoints and model folders written
#: before still hold them in config.json).
MOVED_TO_TRAIN = ("focal_alpha", "focal_gamma", "label_smoothing", "moe_balance_weight", "router_loss_weight",
                  "consistency_weight", "severity_weight")  # fmt: skip


def strict_from_dict(cls, d: dict[str, Any], what: str):
    """``cls(**d)`` for a dataclass, refusing unknown keys so a typo never falls back to a default silently."""
    unknown = sorted(set(d) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
        raise ValueError(f"unknown {what} keys: {unknown}")
    return cls(**d)

@dataclass
class GuardrailConfig:
    """Shape and switches of a ``GuardrailModel`` (its loss weights are training settings: ``TrainConfig``).

    The defaults describe the base model (an all-MiniLM-L6-v2-sized body: 384 wide, 12 heads, 2 fast + 4 deep
    layers). Sizes that must agree with a tokenizer or the detector module (``vocab_size``, ``pad_id``,
    ``n_detector_feats``) are resolved by the training setup and stored resolved.
    """

    # --- token embedding / transformer body (BERT layout so pretrained layers load 1:1) ---
    vocab_size: int = 30522  # rows of the token embedding; must equal the tokenizer's vocabulary size
    d_model: int = 384  # hidden width
    n_heads: int = 12  # attention heads (d_model % n_heads == 0)
    ffn_dim: int = 1536  # width of the dense feed-forward blocks
    max_len: int = 256  # maximum tokens per window, special tokens included (= learned position rows)
    ln_eps: float = 1e-12  # LayerNorm epsilon (BERT / MiniLM / e5 use 1e-12)
    dropout: float = 0.1  # hidden and attention dropout
    pad_id: int = 0  # id of the padding token

    # --- character CNN (one per token, over its first max_chars characters) ---
    max_chars: int = 16  # characters kept per token (features.py pads/truncates to this)
    char_vocab: int = 1024  # = tinyguardrail.features.CHAR_VOCAB
    char_emb_dim: int = 32  # width of one character embedding
    char_channels: int = 128  # conv output channels per kernel size
    char_kernels: tuple[int, ...] = (2, 3, 4, 5)  # kernel sizes of the multi-scale CNN

    # --- pattern-detector features ---
    n_detector_feats: int = 0  # = len(text.detectors.DETECTOR_NAMES); 0 when no detectors
    detector_names: tuple[str, ...] = ()  # names of the features, in order (filled by training; export checks them)

    # --- fast branch ---
    n_fast_layers: int = 2  # transformer layers of the fast branch
    fast_pooling: str = "mean"  # "mean" (masked mean, as sentence-transformers MiniLM) or "cls"
    n_prototypes: int = 32  # learned prototype vectors of the pattern bank
    head_hidden: int = 384  # hidden width of the classification heads' MLPs

    # --- router ---
    router_hidden: int = 64  # hidden width of the router MLP
    early_exit_threshold: float = (
        0.9  # router target "fast-only" needs this confidence; inference exits early only above it
    )
    # what "confident" means at inference (``EXIT_GATES``): "label", the fast branch's largest class probability;
    # "attack", its block-or-allow confidence max(P(benign), 1 - P(benign)), so an attack whose probability is split
    # between attack types exits too (its attack type is then the fast branch's)
    early_exit_gate: str = "label"

    # --- deep branch ---
    n_deep_layers: int = 4  # transformer layers of the deep branch
    moe_every: int = 2  # every moe_every-th deep layer (1-based: layers 2, 4, ...) has an MoE feed-forward
    n_experts: int = 8  # experts per MoE block
    top_k: int = 2  # experts per token
    capacity_factor: float = 1.25  # expert capacity in sparse training dispatch; <= 0 disables token dropping
    moe_ffn_dim: int = 0  # width of one expert; 0 means ffn_dim
    moe_sparse_train: bool = True  # training mode: gather tokens per expert (with capacity); eval is always dense
    pool_scales: tuple[int, ...] = (1, 4, 16, 64)  # hierarchical pooling window sizes (tokens)

    # --- heads ---
    n_classes: int = 4  # = len(tinyguardrail.labels.LABELS)

    # --- switches (ablations) ---
    use_char_cnn: bool = True
    use_detector_feats: bool = True
    use_fast_branch: bool = True  # off: the deep branch reads the embeddings; router off
    use_deep_branch: bool = True  # off: the fast branch answers alone
    use_router: bool = True  # off: always "both" (mean of fast and deep probabilities)
    use_moe: bool = True  # off: dense feed-forward in every deep layer
    use_pattern_bank: bool = True

    # --- initialization ---
    init: str = "random"  # "random" or "pretrained"
    pretrained_name: str = ""  # name understood by model.pretrained.load_pretrained (init == "pretrained")
    init_std: float = 0.02  # std of the normal init of Linear / Embedding weights (BERT)
    moe_init_noise: float = 0.01  # relative noise added to each expert copied from a pretrained FFN

    format_version: int = CONFIG_FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)  # free-form notes (e.g. tokenizer origin); not used

    def __post_init__(self) -> None:
        self.char_kernels = tuple(int(k) for k in self.char_kernels)
        self.pool_scales = tuple(int(s) for s in self.pool_scales)
        self.detector_names = tuple(str(n) for n in self.detector_names)
        if self.moe_ffn_dim == 0:
            self.moe_ffn_dim = self.ffn_dim
        errors = []

        def check(ok: bool, msg: str) -> None:
            if not ok:
                errors.append(msg)

        check(
            self.format_version == CONFIG_FORMAT_VERSION,
            f"format_version {self.format_version} is not supported (expected {CONFIG_FORMAT_VERSION})",
        )
        for name in (
            "vocab_size",
            "d_model",
            "n_heads",
            "ffn_dim",
            "max_len",
            "max_chars",
            "char_vocab",
            "char_emb_dim",
            "char_channels",
            "head_hidden",
            "router_hidden",
            "n_classes",
            "moe_ffn_dim",
        ):
            check(int(getattr(self, name)) > 0, f"{name} must be > 0, got {getattr(self, name)}")
        check(
            self.d_model % max(self.n_heads, 1) == 0, f"d_model {self.d_model} not divisible by n_heads {self.n_heads}"
        )
        check(0 <= self.pad_id < self.vocab_size, f"pad_id {self.pad_id} outside [0, vocab_size={self.vocab_size})")
        check(0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), got {self.dropout}")
        check(
            len(self.char_kernels) > 0 and all(1 <= k <= self.max_chars for k in self.char_kernels),
            f"char_kernels must be non-empty and within [1, max_chars={self.max_chars}], got {self.char_kernels}",
        )
        check(self.n_detector_feats >= 0, f"n_detector_feats must be >= 0, got {self.n_detector_feats}")
        check(
            not self.detector_names or len(self.detector_names) == self.n_detector_feats,
            f"detector_names has {len(self.detector_names)} names but n_detector_feats is {self.n_detector_feats}",
        )
        check(self.n_fast_layers >= 0 and self.n_deep_layers >= 0, "layer counts must be >= 0")
        check(self.fast_pooling in _POOLINGS, f"fast_pooling must be one of {_POOLINGS}, got {self.fast_pooling!r}")
        check(self.n_prototypes >= 1 or not self.use_pattern_bank, "use_pattern_bank needs n_prototypes >= 1")
        check(0.0 < self.early_exit_threshold <= 1.0, "early_exit_threshold must be in (0, 1]")
        check(self.early_exit_gate in EXIT_GATES, f"early_exit_gate must be one of {EXIT_GATES}, got {self.early_exit_gate!r}")
        check(self.moe_every >= 1, f"moe_every must be >= 1, got {self.moe_every}")
        check(
            self.n_experts >= 1 and 1 <= self.top_k <= self.n_experts,
            f"need 1 <= top_k <= n_experts, got top_k={self.top_k} n_experts={self.n_experts}",
        )
        check(
            len(self.pool_scales) > 0 and all(s >= 1 for s in self.pool_scales),
            f"pool_scales must be non-empty positive ints, got {self.pool_scales}",
        )
        check(self.use_fast_branch or self.use_deep_branch, "at least one of use_fast_branch / use_deep_branch")
        check(not self.use_fast_branch or self.n_fast_layers >= 1, "use_fast_branch needs n_fast_layers >= 1")
        check(not self.use_deep_branch or self.n_deep_layers >= 1, "use_deep_branch needs n_deep_layers >= 1")
        check(self.init in _INITS, f"init must be one of {_INITS}, got {self.init!r}")
        check(self.init != "pretrained" or bool(self.pretrained_name), "init='pretrained' needs pretrained_name")
        if errors:
            raise ValueError("invalid GuardrailConfig: " + "; ".join(errors))

    # --- derived ---
    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    @property
    def router_active(self) -> bool:
        """The router is learned only when both branches exist and it is switched on."""
        return self.use_router and self.use_fast_branch and self.use_deep_branch

    def is_moe_layer(self, deep_index: int) -> bool:
        """Whether deep layer ``deep_index`` (0-based) has an MoE feed-forward: layers moe_every, 2*moe_every, ..."""
        return self.use_moe and (deep_index + 1) % self.moe_every == 0

    # --- (de)serialization ---
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["char_kernels"] = list(self.char_kernels)
        d["pool_scales"] = list(self.pool_scales)
        d["detector_names"] = list(self.detector_names)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GuardrailConfig:
        """Build from a dict; unknown keys are an error (a typo must not silently fall back to a default). The loss
        weights that configs written before they moved to ``TrainConfig`` still hold are dropped (they never changed
        the model); a run config that sets one in its model section is refused by ``train.config``."""
        return strict_from_dict(cls, {k: v for k, v in d.items() if k not in MOVED_TO_TRAIN}, "GuardrailConfig")

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> GuardrailConfig:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


#: Fields a run config may leave as ``"auto"``: the training setup fills them from the tokenizer / detectors.
AUTO_FIELDS = ("vocab_size", "pad_id", "n_detector_feats")


def resolve_auto(d: dict[str, Any], **values: int | None) -> dict[str, Any]:
    """Replace ``"auto"`` (or missing) values of ``AUTO_FIELDS`` in a model-config dict by ``values``.

    Example: ``resolve_auto(run["model"], vocab_size=tok.get_vocab_size(), pad_id=0, n_detector_feats=7)``.
    A field that is ``"auto"`` with no value given is an error naming the field. Returns a new dict.
    """
    out = dict(d)
    for name in AUTO_FIELDS:
        given = values.get(name)
        if out.get(name, "auto") == "auto":
            if given is None:
                if name in out:
                    raise ValueError(f"model.{name} is 'auto' and nothing here can resolve it; set it explicitly")
                continue  # missing: the dataclass default applies
            out[name] = int(given)
    return out


def detector_count() -> int | None:
    """``len(DETECTOR_NAMES)`` of the pattern-detector module, or None while that module is absent."""
    try:
        from tinyguardrail.text.detectors import DETECTOR_NAMES
    except ImportError:
        return None
    return len(DETECTOR_NAMES)
