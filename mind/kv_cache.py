"""A KV cache that reserves room for a whole batch of answers up front.

transformers' `DynamicLayer` grows by `torch.cat`, which copies a layer's whole cache on
every decode step: at batch 64 on the bundled student that copy cost as much as the
matmuls (docs/benchmarks.md). `ReservedLayer` writes each step's keys and values into a
buffer sized for the prompt plus `max_new_tokens` and hands attention a view of the filled
part, so a step copies only its new token. Values are bit-identical to `DynamicLayer`'s.
Prompts prefilled in sub-batches (each padded to its own longest prompt, after a prefix
they all share computed once and `copies`-ed) are copied in with `place`.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.cache_utils import DynamicCache, DynamicLayer


class ReservedLayer(DynamicLayer):
    """One attention layer's cache in a preallocated buffer of `capacity` positions.

    Buffers are [B, H_kv, capacity, D]; `keys` / `values` are views [B, H_kv, T, D] of the
    T filled positions. Raises ValueError when an update would pass `capacity`.
    """

    def __init__(self, capacity: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.capacity = capacity
        self.length = 0

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        self._allocate(key_states.shape[0], key_states, value_states)

    def _allocate(self, batch: int, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        """Zeroed buffers (padding never written must not hold NaN: attention weighs it 0)."""
        self.device = key_states.device
        self._keys = key_states.new_zeros(
            batch, key_states.shape[1], self.capacity, key_states.shape[3]
        )
        self._values = value_states.new_zeros(
            batch, value_states.shape[1], self.capacity, value_states.shape[3]
        )
        self.is_initialized = True

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self.length + key_states.shape[-2]
        if end > self.capacity:
            raise ValueError(f"KV cache full: {end} positions asked of {self.capacity} reserved")
        self._keys[:, :, self.length : end] = key_states
        self._values[:, :, self.length : end] = value_states
        self.length = end
        self._expose()
        return self.keys, self.values

    def place(
        self, rows: slice, batch: int, prefilled: DynamicLayer, end: int, shared: int = 0
    ) -> None:
        """Copy a sub-batch's prefilled cache [n, H_kv, shared + w, D] into `rows` of this
        `batch`-row cache: its first `shared` positions (a prompt prefix all rows share) at
        [0, shared), the rest right-aligned at [end - w, end); the gap stays zero (padding)."""
        if not self.is_initialized:
            self._allocate(batch, prefilled.keys, prefilled.values)
        start = end - (prefilled.keys.shape[-2] - shared)
        for buffer, states in ((self._keys, prefilled.keys), (self._values, prefilled.values)):
            buffer[rows, :, :shared] = states[:, :, :shared]
            buffer[rows, :, start:end] = states[:, :, shared:]
        self.length = end
        self._expose()

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        """Keep only the rows `indices` (a copy of the filled part of those rows)."""
        if not self.is_initialized:
            return
        self._keys, self._values = self._keys[indices], self._values[indices]
        self._expose()

    def _expose(self) -> None:
        self.keys = self._keys[:, :, : self.length]
        self.values = self._values[:, :, : self.length]


def all_reserved(cache: DynamicCache) -> bool:
    """Whether every layer of `cache` is a `ReservedLayer` (so sub-batches can be placed)."""
    return all(isinstance(layer, ReservedLayer) for layer in cache.layers)


def place(
    cache: DynamicCache, prefilled: DynamicCache, rows: slice, batch: int, end: int, shared: int
) -> None:
    """`ReservedLayer.place` for every layer of an `all_reserved` cache."""
    for layer, part in zip(cache.layers, prefilled.layers, strict=True):
        layer.place(rows, batch, part, end, shared)


def copies(prefix: DynamicCache, rows: int, config: Any) -> DynamicCache:
    """A new cache holding `prefix`'s keys and values [1, H_kv, P, D] once per row."""
    cache = DynamicCache(config=config)
    for layer, part in zip(cache.layers, prefix.layers, strict=True):
        layer.update(part.keys.expand(rows, -1, -1, -1), part.values.expand(rows, -1, -1, -1))
    return cache


def reserved_cache(config: Any, capacity: int) -> DynamicCache:
    """A `DynamicCache` for `config` whose full-attention layers are `ReservedLayer`s.

    Other layer kinds (sliding windows, linear attention) keep transformers' own classes.
    """
    cache = DynamicCache(config=config)
    cache.layers = [
        ReservedLayer(capacity) if type(layer) is DynamicLayer else layer for layer in cache.layers
    ]
    return cache
