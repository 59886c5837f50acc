"""Attention for packed rows: many sequences in one row, none attending across a boundary.

The packed layout (`mind.batching.packed_layout`) lets every linear layer, and the loss head,
run on real tokens only. Attention is the one place where sequences must stay apart. Handing
transformers packed `position_ids` without a mask makes it build a dense block-diagonal
[S, S] mask (quadratic in the whole micro-batch, and it keeps SDPA off its flash kernel).
Instead, `packed_attention` scatters q/k/v back into a right-padded [N, H, T, D] view just
for the attention product and runs causal SDPA with no mask: right padding never precedes a
real key, so the causal rule alone is exact, and only the (cheap) attention sees padding.

It is registered with transformers as the `mind_packed` implementation. Without
`cu_seq_lens_q` (any unpacked call: padded training, generation) it is plain `sdpa`.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface

IMPLEMENTATION = "mind_packed"


def pad_index(cu_seq_lens: torch.Tensor, max_len: int, total: int) -> torch.Tensor:
    """For each packed position, its index in a [N * max_len] right-padded layout. [S]"""
    lengths = cu_seq_lens[1:] - cu_seq_lens[:-1]
    seq = torch.repeat_interleave(
        torch.arange(len(lengths), device=lengths.device), lengths, output_size=total
    )
    within = torch.arange(total, device=lengths.device) - cu_seq_lens[seq]
    return seq * max_len + within


def _unpack(x: torch.Tensor, index: torch.Tensor, n: int, max_len: int) -> torch.Tensor:
    """[1, H, S, D] packed -> [N, H, max_len, D] right-padded with zeros."""
    _, heads, _, dim = x.shape
    flat = x[0].transpose(0, 1)  # [S, H, D]
    padded = flat.new_zeros(n * max_len, heads, dim).index_copy(0, index, flat)
    return padded.view(n, max_len, heads, dim).transpose(1, 2)


def packed_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    cu_seq_lens_q: torch.Tensor | None = None,
    max_length_q: int | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """transformers attention function. query [1, H, S, D] -> output [1, S, H, D]."""
    if cu_seq_lens_q is None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    assert query.shape[0] == 1, f"a packed batch is one row, got {query.shape[0]}"
    assert max_length_q is not None, "packed attention needs max_length_q with cu_seq_lens_q"
    n, total = len(cu_seq_lens_q) - 1, query.shape[2]
    index = pad_index(cu_seq_lens_q, max_length_q, total)
    q, k, v = (_unpack(x, index, n, max_length_q) for x in (query, key, value))
    out, _ = sdpa_attention_forward(module, q, k, v, None, **kwargs)  # [N, T, H, D]
    return out.flatten(0, 1).index_select(0, index).unsqueeze(0), None


def _mask(*args: Any, **kwargs: Any) -> torch.Tensor | None:
    """No mask for packed rows (`packed_attention` needs none); `sdpa`'s otherwise."""
    if kwargs.get("attention_mask") is None:
        return None
    return ALL_MASK_ATTENTION_FUNCTIONS["sdpa"](*args, **kwargs)


AttentionInterface.register(IMPLEMENTATION, packed_attention)
AttentionMaskInterface.register(IMPLEMENTATION, _mask)


def use_packed_attention(model: Any) -> None:
    """Switch a model (idempotently) to `mind_packed`; unpacked calls behave as `sdpa`."""
    if model.config._attn_implementation != IMPLEMENTATION:
        model.set_attn_implementation(IMPLEMENTATION)


def packed_kwargs(offsets: torch.Tensor, lengths: torch.Tensor) -> dict[str, Any]:
    """The keyword arguments a packed row's decoder call forwards to `packed_attention`."""
    cu = torch.cat([offsets, (offsets[-1] + lengths[-1]).view(1)]).to(torch.int32)
    return {"cu_seq_lens_q": cu, "max_length_q": int(lengths.max())}
