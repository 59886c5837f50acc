"""The student's forward pass, computing only the logits the losses need.

Full-vocabulary logits are never built for prompt or padding positions: the decoder's hidden
states are gathered at labelled positions first, then projected in chunks, so float32 logits
exist one chunk at a time; the backward pass keeps only the model-dtype ones
(`LinearCrossEntropy`). A packed batch (`mind.batching.packed_layout`) runs the decoder on
real tokens only, with `mind.packing`'s attention keeping its sequences apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from mind.batching import Batch
from mind.losses import IGNORE_INDEX
from mind.packing import packed_kwargs, pick_kernel, use_packed_attention

CE_CHUNK_TOKENS = 2048


@dataclass
class StudentOutput:
    ce: torch.Tensor  # [N] token-mean cross-entropy per sequence
    answer_logprobs: torch.Tensor | None  # [N, A, V] log-probs at answer positions


def _parts(model: Any) -> tuple[Any, Any]:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return base.get_decoder(), base.get_output_embeddings()


def _wide(x: torch.Tensor) -> torch.Tensor:
    """At least float32, for the softmax of half-precision logits."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


class LinearCrossEntropy(torch.autograd.Function):
    """Per-token CE of `hidden @ weight.T` against `targets`, with a lean backward.

    Autograd through `F.cross_entropy(logits.float())` keeps float32 log-probs [M, V] for the
    backward pass (and a checkpoint would recompute the projection instead). This keeps only
    the logits, in the model's dtype, and forms the gradient `(softmax - onehot) * grad` from
    them: no second projection, and half the memory in bf16.
    """

    @staticmethod
    def forward(ctx: Any, hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor):
        logits = F.linear(hidden, weight)  # [M, V]
        ctx.save_for_backward(hidden, weight, targets, logits)
        return F.cross_entropy(_wide(logits), targets, reduction="none")

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor):
        hidden, weight, targets, logits = ctx.saved_tensors
        dlogits = torch.softmax(_wide(logits), dim=-1)
        dlogits[torch.arange(len(targets), device=targets.device), targets] -= 1.0
        dlogits = (dlogits * grad.unsqueeze(1)).to(logits.dtype)
        grad_hidden = dlogits @ weight if ctx.needs_input_grad[0] else None
        grad_weight = dlogits.T @ hidden if ctx.needs_input_grad[1] else None
        return grad_hidden, grad_weight, None


def token_ce(hidden: torch.Tensor, targets: torch.Tensor, lm_head: Any) -> torch.Tensor:
    """Cross-entropy per labelled token, [M], projecting CE_CHUNK_TOKENS rows at a time."""
    chunks = zip(hidden.split(CE_CHUNK_TOKENS), targets.split(CE_CHUNK_TOKENS), strict=True)
    return torch.cat([LinearCrossEntropy.apply(h, lm_head.weight, t) for h, t in chunks])


def _hidden(decoder: Any, batch: Batch, packed_attention: str) -> torch.Tensor:
    """Last hidden states [B, T, H] for a padded or a packed batch."""
    if batch.position_ids is None:
        out = decoder(
            input_ids=batch.input_ids, attention_mask=batch.attention_mask, use_cache=False
        )
        return out.last_hidden_state
    use_packed_attention(decoder)
    out = decoder(
        input_ids=batch.input_ids,
        position_ids=batch.position_ids,
        use_cache=False,
        **packed_kwargs(
            batch.offsets, batch.lengths, pick_kernel(packed_attention, batch.input_ids.device)
        ),
    )
    return out.last_hidden_state


def student_forward(
    model: Any, batch: Batch, with_answers: bool, packed_attention: str = "auto"
) -> StudentOutput:
    """Per-sequence CE [N] and, if asked, log-probs at the answer positions [N, A, V].

    `packed_attention` is the `train.packed_attention` kernel for packed batches.
    """
    decoder, lm_head = _parts(model)
    hidden = _hidden(decoder, batch, packed_attention).flatten(0, 1)  # [B * T, H]
    labels = batch.labels.flatten()
    where = (labels != IGNORE_INDEX).nonzero().squeeze(1)
    tok = token_ce(hidden[where], labels[where], lm_head)
    seq = torch.searchsorted(batch.offsets, where, right=True) - 1  # sequence of each token
    n = len(batch.offsets)
    total = torch.zeros(n, device=tok.device).index_add(0, seq, tok)
    count = torch.zeros(n, device=tok.device).index_add(0, seq, torch.ones_like(tok))
    answers = None
    if with_answers:
        at = hidden[batch.offsets.unsqueeze(1) + batch.answer_positions]  # [N, A, H]
        answers = torch.log_softmax(lm_head(at).float(), dim=-1)
    return StudentOutput(ce=total / count.clamp_min(1), answer_logprobs=answers)
