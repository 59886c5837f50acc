"""Attention for packed rows: many sequences in one row, none attending across a boundary.

The packed layout (`mind.batching.packed_layout`) lets every linear layer, and the loss head,
run on real tokens only. Attention is the one place where sequences must stay apart. Handing
transformers packed `position_ids` without a mask makes it build a dense block-diagonal
[S, S] mask (quadratic in the whole micro-batch, and it keeps SDPA off its flash kernel).
Instead `packed_attention` runs one of three kernels (`train.packed_attention`):

- `flex`: FlexAttention with a document-causal block mask, built once per forward pass
  (`packed_kwargs`): blocks that cross a boundary are skipped, none of the row is padded.
  Compiled (the fused kernel) on CUDA. On CPU torch has it forward only (no backward), and
  it measured slower than `padded` there, compiled or not (docs/benchmarks.md), so `auto`
  keeps CPUs on `padded`.
- `flash`: flash-attention's varlen kernel through transformers' `flash_attention_2`
  (needs the `flash-attn` package and a CUDA device; `auto` prefers it when present).
- `padded`: scatter q/k/v back into a right-padded [N, H, T, D] view just for the
  attention product and run causal SDPA with no mask: right padding never precedes a real
  key, so the causal rule alone is exact. The fallback, and the reference in tests.

It is registered with transformers as the `mind_packed` implementation. Without
`cu_seq_lens_q` (any unpacked call: padded training, generation) it is plain `sdpa`.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from typing import Any

import torch
from torch.nn.attention.flex_attention import BlockMask, create_block_mask, flex_attention
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

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


def _padded(module: torch.nn.Module, q, k, v, cu: torch.Tensor, max_len: int, **kwargs: Any):
    """[1, H, S, D] q/k/v -> [1, S, H, D] through a right-padded view (see module doc)."""
    n, total = len(cu) - 1, q.shape[2]
    index = pad_index(cu, max_len, total)
    q, k, v = (_unpack(x, index, n, max_len) for x in (q, k, v))
    out, _ = sdpa_attention_forward(module, q, k, v, None, **kwargs)  # [N, T, H, D]
    return out.flatten(0, 1).index_select(0, index).unsqueeze(0)


def document_ids(cu_seq_lens: torch.Tensor, total: int) -> torch.Tensor:
    """The sequence each packed position belongs to. [S]"""
    lengths = cu_seq_lens[1:] - cu_seq_lens[:-1]
    ids = torch.arange(len(lengths), device=cu_seq_lens.device)
    return torch.repeat_interleave(ids, lengths, output_size=total)


def document_block_mask(cu_seq_lens: torch.Tensor, total: int) -> BlockMask:
    """FlexAttention's block mask for causal attention within each packed sequence."""
    doc = document_ids(cu_seq_lens, total)

    def same_document_causal(b: Any, h: Any, q: torch.Tensor, kv: torch.Tensor) -> torch.Tensor:
        return (doc[q] == doc[kv]) & (q >= kv)

    return create_block_mask(
        same_document_causal, None, None, total, total, device=cu_seq_lens.device
    )


@cache
def _compiled_flex() -> Any:
    return torch.compile(flex_attention, dynamic=True)


def _flex(module: torch.nn.Module, q, k, v, block_mask: BlockMask, **kwargs: Any):
    """[1, H, S, D] q/k/v -> [1, S, H, D] with FlexAttention (fused on CUDA)."""
    kernel = _compiled_flex() if q.is_cuda else flex_attention
    out = kernel(
        q,
        k,
        v,
        block_mask=block_mask,
        scale=kwargs.get("scaling"),
        enable_gqa=k.shape[1] != q.shape[1],
    )
    return out.transpose(1, 2)


def packed_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    cu_seq_lens_q: torch.Tensor | None = None,
    max_length_q: int | None = None,
    mind_block_mask: BlockMask | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """transformers attention function. query [1, H, S, D] -> output [1, S, H, D].

    The kernel follows what `packed_kwargs` passed: a block mask (`flex`), `cu_seq_lens_k`
    (`flash`), or neither (`padded`).
    """
    if cu_seq_lens_q is None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    assert query.shape[0] == 1, f"a packed batch is one row, got {query.shape[0]}"
    assert max_length_q is not None, "packed attention needs max_length_q with cu_seq_lens_q"
    if mind_block_mask is not None:
        return _flex(module, query, key, value, mind_block_mask, **kwargs), None
    if "cu_seq_lens_k" in kwargs:
        flash = ALL_ATTENTION_FUNCTIONS["flash_attention_2"]
        return flash(
            module,
            query,
            key,
            value,
            None,
            cu_seq_lens_q=cu_seq_lens_q,
            max_length_q=max_length_q,
            **kwargs,
        )
    return _padded(module, query, key, value, cu_seq_lens_q, max_length_q, **kwargs), None


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


def flash_available(device: torch.device) -> bool:
    return device.type == "cuda" and importlib.util.find_spec("flash_attn") is not None


def pick_kernel(setting: str, device: torch.device) -> str:
    """`train.packed_attention` resolved for a device: auto -> flash, flex, or padded on CPU.

    Raises ValueError naming the setting when `flash` or `flex` is asked for where it cannot
    run (FlexAttention runs forward only on CPU).
    """
    if setting == "flash" and not flash_available(device):
        raise ValueError(
            "train.packed_attention: 'flash' needs the flash-attn package and a CUDA device"
        )
    if setting == "flex" and device.type == "cpu" and torch.is_grad_enabled():
        raise ValueError(
            "train.packed_attention: 'flex' has no backward pass on CPU (torch FlexAttention); "
            "use 'padded' or 'auto' there"
        )
    if setting != "auto":
        return setting
    if flash_available(device):
        return "flash"
    return "flex" if device.type == "cuda" else "padded"


def packed_kwargs(offsets: torch.Tensor, lengths: torch.Tensor, kernel: str) -> dict[str, Any]:
    """The keyword arguments a packed row's decoder call forwards to `packed_attention`."""
    cu = torch.cat([offsets, (offsets[-1] + lengths[-1]).view(1)]).to(torch.int32)
    out: dict[str, Any] = {"cu_seq_lens_q": cu, "max_length_q": int(lengths.max())}
    if kernel == "flex":
        out["mind_block_mask"] = document_block_mask(cu, int(cu[-1]))
    elif kernel == "flash":
        out |= {"cu_seq_lens_k": cu, "max_length_k": out["max_length_q"]}
    return out
