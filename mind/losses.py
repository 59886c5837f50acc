"""The losses of the MIND objective (method spec sections 3 and 5), one pure function each.

Shapes: Q questions per batch, P perspective slots per question, A answer tokens, V vocab.
`mask` [Q, P] is True where a question has a rationale for that slot. Masked slots never
contribute, and a row with nothing to compare contributes zero rather than NaN.
The per-rationale cross-entropy CE_k itself is `mind.forward.student_forward` (built only
at labelled positions, so it lives beside the model call).
"""

from __future__ import annotations

import math

import torch

IGNORE_INDEX = -100


def masked_log_softmax(x: torch.Tensor, mask: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """log_softmax over the True entries of mask; masked entries get -inf."""
    return torch.log_softmax(x.masked_fill(~mask, float("-inf")), dim=dim)


def meta_loss(scores: torch.Tensor, student_ce: torch.Tensor, mask: torch.Tensor, tau: float):
    """Listwise ranking loss L_meta = KL(softmax(-L_real/tau) || softmax(s)), mean over rows.

    scores [Q, P] are MetaNet's sigmoid outputs; student_ce [Q, P] is detached here, so only
    MetaNet learns from it. Rows with fewer than two slots carry no ranking and give 0.
    """
    target_log = masked_log_softmax(-student_ce.detach() / tau, mask)
    pred_log = masked_log_softmax(scores, mask)
    target = target_log.exp()
    kl = (target * (target_log - pred_log)).masked_fill(~mask, 0.0).sum(-1)
    rows = mask.sum(-1) >= 2
    return (kl * rows).sum() / rows.sum().clamp_min(1)


def jsd(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon divergence between distributions given as log-probs [..., V] -> [...].

    -inf log-probs (exact zeros) are floored at the dtype's lowest finite value first: the
    value is unchanged, and logaddexp(-inf, -inf) no longer sends NaN back in the gradient.
    """
    floor = torch.finfo(log_p.dtype).min
    log_p, log_q = log_p.clamp_min(floor), log_q.clamp_min(floor)
    log_m = torch.logaddexp(log_p, log_q) - math.log(2.0)
    return 0.5 * (_kl(log_p, log_m) + _kl(log_q, log_m))


def _kl(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """KL(p || q) over the last dim; 0 * log 0 counts as 0."""
    p = log_p.exp()
    return torch.where(p > 0, p * (log_p - log_q), torch.zeros_like(p)).sum(-1)


def consistency_loss(
    answer_logprobs: torch.Tensor, answer_mask: torch.Tensor, alpha: torch.Tensor
) -> torch.Tensor:
    """L_cons per question = sum_{i<j} alpha_i alpha_j JSD(P_i || P_j), JSD token-averaged.

    answer_logprobs [Q, P, A, V]: the student's next-token log-probs at the answer tokens of
    the canonical final line, teacher-forced after each rationale. answer_mask [Q, A] marks
    real answer tokens. alpha [Q, P] (detached, 0 outside the selected set) picks the pairs.
    Returns [Q].
    """
    _, slots, _, _ = answer_logprobs.shape
    i, j = torch.triu_indices(slots, slots, offset=1, device=alpha.device)
    pair_jsd = jsd(answer_logprobs[:, i], answer_logprobs[:, j])  # [Q, pairs, A]
    tokens = answer_mask.float().unsqueeze(1)
    pair_mean = (pair_jsd * tokens).sum(-1) / tokens.sum(-1).clamp_min(1)
    return (alpha[:, i] * alpha[:, j] * pair_mean).sum(-1)


def select(
    scores: torch.Tensor,
    mask: torch.Tensor,
    beta: float,
    on: str = "score",
    tau: float = 1.0,
    min_selected: int = 1,
) -> torch.Tensor:
    """Selected set I over present slots, bool [Q, P].

    on="score": I = {k : s_k >= beta * max_j s_j} (spec section 3). on="prob": the same rule
    on softmax(s/tau), i.e. s_k >= max s - tau * ln(1/beta), which ignores the scores' level.
    The `min_selected` best-scored present slots are always in I.
    """
    masked = scores.masked_fill(~mask, float("-inf"))
    if on == "prob":
        masked = masked_log_softmax(scores / tau, mask).exp().masked_fill(~mask, float("-inf"))
    chosen = mask & (masked >= beta * masked.amax(-1, keepdim=True))
    k = min(min_selected, scores.shape[-1])
    top = scores.masked_fill(~mask, float("-inf")).topk(k, dim=-1).indices
    forced = torch.zeros_like(mask).scatter(-1, top, True) & mask
    return chosen | forced


def selection_weights(scores: torch.Tensor, selected: torch.Tensor, tau: float) -> torch.Tensor:
    """alpha = softmax over the selected set of s/tau, 0 outside it; detached."""
    return masked_log_softmax(scores.detach() / tau, selected).exp().nan_to_num(0.0)


def uniform_weights(mask: torch.Tensor) -> torch.Tensor:
    """1/K over the present slots of each row."""
    m = mask.float()
    return m / m.sum(-1, keepdim=True).clamp_min(1)
