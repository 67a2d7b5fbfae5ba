"""``GuardrailModel``: threat-aware embedding -> fast branch -> router -> deep branch (SPEC section 4).

Two entry points are exported as the two ONNX graphs of the runtime::

    forward_fast(input_ids [B,T] i64, attention_mask [B,T] i64, char_ids [B,T,C] i64, detector_feats [B,F] f32)
        -> fast_logits [B,4], fast_severity [B] (0..1), router_logits [B,3], hidden [B,T,D]
    forward_deep(hidden [B,T,D], attention_mask [B,T] i64)
        -> deep_logits [B,4], severity [B] (0..1)

``forward`` runs both and adds the training extras. The runtime skips ``forward_deep`` when the router says
fast-only and the fast branch is confident (early exit), then applies ``combine_probs``.

Switches: without the fast branch, ``hidden`` is the embedding output, fast logits are zeros and the router
logits always say deep-only; without the deep branch the router logits always say fast-only; with the router off
(or either branch off) no router is learned. The deep head's "fast pooled" input is recomputed from ``hidden``
inside ``forward_deep`` (a masked mean: cheap), so deep.onnx needs only (hidden, attention_mask).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from tinyguardrail.model.branches import DeepBranch, FastBranch, pool
from tinyguardrail.model.config import GuardrailConfig
from tinyguardrail.model.embedding import ThreatAwareEmbedding
from tinyguardrail.model.router import (
    ROUTE_BOTH,
    ROUTE_DEEP,
    ROUTE_FAST,
    Router,
    combine_probs,
    combine_severity,
    fixed_route_logits,
    route_decision,
)

__all__ = ["GuardrailModel", "combine_probs", "combine_severity", "route_decision"]


class GuardrailModel(nn.Module):
    """The dual-branch guard. Built from a ``GuardrailConfig`` alone.

    Args:
        config: shapes and switches; see ``GuardrailConfig``.
    """

    def __init__(self, config: GuardrailConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = ThreatAwareEmbedding(config)
        self.fast = FastBranch(config) if config.use_fast_branch else None
        self.router = Router(config) if config.router_active else None
        self.deep = DeepBranch(config) if config.use_deep_branch else None
        self.apply(self._init_weights)

    @classmethod
    def from_checkpoint(cls, ckpt_dir: str | Path, device: str | torch.device = "cpu") -> GuardrailModel:
        """The model of a checkpoint directory (``model/checkpoint.py``), weights loaded strictly, in eval mode."""
        from tinyguardrail.model.checkpoint import load_checkpoint

        return load_checkpoint(ckpt_dir, device)

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.init_std
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    # --- pieces -------------------------------------------------------------------------------------------
    def _fast_from_embeddings(self, emb: torch.Tensor, mask: torch.Tensor, detector_feats: torch.Tensor):
        """-> fast_logits, fast_sev_logit, router_logits, hidden, fast_pooled."""
        cfg = self.config
        if self.fast is None:
            zeros = torch.zeros(emb.shape[0], cfg.n_classes, dtype=torch.float32, device=emb.device)
            return zeros, zeros[:, 0], fixed_route_logits(ROUTE_DEEP, emb), emb, pool(emb, mask, cfg.fast_pooling)
        hidden, pooled, logits, sev = self.fast(emb, mask, detector_feats)
        if self.router is not None:
            router_logits = self.router(pooled, logits)
        else:
            router_logits = fixed_route_logits(ROUTE_BOTH if self.deep is not None else ROUTE_FAST, emb)
        return logits, sev, router_logits, hidden, pooled

    # --- training forward ---------------------------------------------------------------------------------
    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        char_ids: torch.Tensor,
        detector_feats: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """Both branches. Returns a dict of fast_logits [B,C], deep_logits [B,C], router_logits [B,3],
        severity [B] (deep, 0..1), fast_severity [B], severity_logit / fast_severity_logit [B] (for the loss),
        aux_loss (scalar MoE balance loss). Without a deep branch, deep_* repeat the fast outputs.
        """
        emb = self.embed(input_ids, char_ids, detector_feats)
        return self.forward_from_embeddings(emb, attention_mask, detector_feats)

    def forward_from_embeddings(
        self, emb: torch.Tensor, attention_mask: torch.Tensor, detector_feats: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """``forward`` after the embedding (FGSM perturbs ``emb`` and calls this)."""
        mask = attention_mask.bool()
        fast_logits, fast_sev, router_logits, hidden, fast_pooled = self._fast_from_embeddings(
            emb, mask, detector_feats
        )
        if self.deep is not None:
            deep_logits, deep_sev, aux = self.deep(hidden, mask, fast_pooled)
        else:
            deep_logits, deep_sev, aux = fast_logits, fast_sev, emb.new_zeros((), dtype=torch.float32)
        return {
            "fast_logits": fast_logits,
            "deep_logits": deep_logits,
            "router_logits": router_logits,
            "severity": torch.sigmoid(deep_sev),
            "fast_severity": torch.sigmoid(fast_sev),
            "severity_logit": deep_sev,
            "fast_severity_logit": fast_sev,
            "aux_loss": aux,
        }

    # --- the two exported graphs --------------------------------------------------------------------------
    def forward_fast(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        char_ids: torch.Tensor,
        detector_feats: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> (fast_logits [B,C], fast_severity [B] in 0..1, router_logits [B,3], hidden [B,T,D] fp32)."""
        emb = self.embed(input_ids, char_ids, detector_feats)
        logits, sev, router_logits, hidden, _ = self._fast_from_embeddings(emb, attention_mask.bool(), detector_feats)
        return logits, torch.sigmoid(sev), router_logits, hidden.float()

    def forward_deep(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (deep_logits [B,C], severity [B] in 0..1). ``hidden`` is forward_fast's output."""
        if self.deep is None:
            raise RuntimeError("this model has no deep branch (use_deep_branch=False)")
        mask = attention_mask.bool()
        fast_pooled = pool(hidden, mask, self.config.fast_pooling)
        logits, sev, _ = self.deep(hidden, mask, fast_pooled)
        return logits, torch.sigmoid(sev)

    # --- helpers ------------------------------------------------------------------------------------------
    @torch.no_grad()
    def pooled_fast(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        char_ids: torch.Tensor,
        detector_feats: torch.Tensor,
    ) -> torch.Tensor:
        """[B, D] fast-branch sentence vectors (what the pattern bank compares with its prototypes)."""
        _, _, _, hidden = self.forward_fast(input_ids, attention_mask, char_ids, detector_feats)
        return pool(hidden, attention_mask.bool(), self.config.fast_pooling)

    def seed_prototypes(self, vectors: torch.Tensor) -> int:
        """Set the first pattern-bank prototypes to ``vectors`` [n, D]; returns how many were set (0 without a bank)."""
        if self.fast is None or self.fast.bank is None:
            return 0
        return self.fast.bank.seed(vectors)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
