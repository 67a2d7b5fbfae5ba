"""FGSM adversarial training on the embedding output (Goodfellow et al. 2015; Miyato et al. 2017 for text).

After ``fgsm_start_epoch`` each step also trains on ``emb + epsilon * sign(d loss / d emb)``: a second forward
through the model from the perturbed embeddings, whose classification loss is added to the clean loss before the
single backward pass. The perturbation is taken from the clean loss's gradient (``autograd.grad`` with the graph
retained), so it costs one extra forward + backward of the body. Embeddings are post-LayerNorm (unit scale per
dimension), so epsilon 0.05 moves each dimension by 5% of its spread (an L2 step of ~1 at d_model 384).
"""

from __future__ import annotations

import torch

from tinyguardrail.model.model import GuardrailModel
from tinyguardrail.train.losses import GuardrailLoss


def fgsm_delta(loss: torch.Tensor, emb: torch.Tensor, epsilon: float) -> torch.Tensor:
    """epsilon * sign(d loss / d emb), detached; keeps the graph so ``loss.backward()`` can still run."""
    (grad,) = torch.autograd.grad(loss, emb, retain_graph=True)
    return (epsilon * grad.sign()).detach()


def fgsm_loss(
    model: GuardrailModel,
    loss_fn: GuardrailLoss,
    emb: torch.Tensor,
    clean_loss: torch.Tensor,
    attention_mask: torch.Tensor,
    detector_feats: torch.Tensor,
    labels: torch.Tensor,
    epsilon: float,
) -> torch.Tensor:
    """Classification loss of the model on FGSM-perturbed embeddings (to be added to the clean loss).

    Args:
        model: the model being trained.
        loss_fn: its loss (only ``classification`` is used: focal on the branches).
        emb: the clean embedding output, part of ``clean_loss``'s graph.
        clean_loss: the clean total loss.
        attention_mask, detector_feats, labels: the batch.
        epsilon: L-infinity size of the perturbation.
    """
    delta = fgsm_delta(clean_loss, emb, epsilon)
    out = model.forward_from_embeddings(emb + delta, attention_mask, detector_feats)
    return loss_fn.classification(out, labels)
