"""The student's forward pass, computing only the logits the losses need.

Full-vocabulary logits are never built for prompt or padding positions: the decoder's hidden
states are gathered at labelled positions first, then projected in chunks (checkpointed when
gradients flow, so at most one chunk of float32 logits is alive at a time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from mind.batching import Batch
from mind.losses import IGNORE_INDEX

CE_CHUNK_TOKENS = 2048


@dataclass
class StudentOutput:
    ce: torch.Tensor  # [N] token-mean cross-entropy per sequence
    answer_logprobs: torch.Tensor | None  # [N, A, V] log-probs at answer positions


def _parts(model: Any) -> tuple[Any, Any]:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return base.get_decoder(), base.get_output_embeddings()


def _ce_chunk(hidden: torch.Tensor, targets: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    logits = F.linear(hidden, weight).float()
    return F.cross_entropy(logits, targets, reduction="none")


def token_ce(hidden: torch.Tensor, targets: torch.Tensor, lm_head: Any) -> torch.Tensor:
    """Cross-entropy per labelled token, [M], projecting CE_CHUNK_TOKENS rows at a time."""
    weight = lm_head.weight
    out = []
    for h, t in zip(hidden.split(CE_CHUNK_TOKENS), targets.split(CE_CHUNK_TOKENS), strict=True):
        if torch.is_grad_enabled():
            out.append(checkpoint(_ce_chunk, h, t, weight, use_reentrant=False))
        else:
            out.append(_ce_chunk(h, t, weight))
    return torch.cat(out)


def student_forward(model: Any, batch: Batch, with_answers: bool) -> StudentOutput:
    decoder, lm_head = _parts(model)
    hidden = decoder(
        input_ids=batch.input_ids, attention_mask=batch.attention_mask
    ).last_hidden_state  # [N, T, H]
    labelled = batch.labels != IGNORE_INDEX
    tok = token_ce(hidden[labelled], batch.labels[labelled], lm_head)
    seq = labelled.nonzero()[:, 0]
    n = batch.input_ids.shape[0]
    total = torch.zeros(n, device=tok.device).index_add(0, seq, tok)
    count = labelled.sum(1).clamp_min(1)
    answers = None
    if with_answers:
        rows = torch.arange(n, device=hidden.device).unsqueeze(1)
        at = hidden[rows, batch.answer_positions]  # [N, A, H]
        answers = torch.log_softmax(lm_head(at).float(), dim=-1)
    return StudentOutput(ce=total / count, answer_logprobs=answers)
