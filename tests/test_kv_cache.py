"""The reserved KV cache must hold exactly what transformers' growing cache holds."""

from __future__ import annotations

import pytest
import torch
from transformers.cache_utils import DynamicCache, DynamicLayer

from mind.kv_cache import ReservedLayer, copies, reserved_cache


def _states(batch: int, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random keys and values [batch, 2 heads, length, 4]."""
    return torch.randn(batch, 2, length, 4), torch.randn(batch, 2, length, 4)


class TestReservedLayer:
    def test_matches_dynamic_layer_through_prefill_steps_and_dropped_rows(self) -> None:
        torch.manual_seed(0)
        reserved, dynamic = ReservedLayer(capacity=9), DynamicLayer()
        for batch, length in [(3, 5), (3, 1), (3, 1)]:
            states = _states(batch, length)
            got, want = reserved.update(*states), dynamic.update(*states)
            assert all(torch.equal(g, w) for g, w in zip(got, want, strict=True))
        rows = torch.tensor([0, 2])
        reserved.batch_select_indices(rows)
        dynamic.batch_select_indices(rows)
        states = _states(2, 1)
        got, want = reserved.update(*states), dynamic.update(*states)
        assert got[0].shape == (2, 2, 8, 4)
        assert all(torch.equal(g, w) for g, w in zip(got, want, strict=True))
        assert reserved.get_seq_length() == dynamic.get_seq_length() == 8

    def test_places_sub_batches_right_aligned_over_zeroed_padding(self) -> None:
        torch.manual_seed(0)
        layer = ReservedLayer(capacity=8)
        parts = [DynamicLayer(), DynamicLayer()]
        parts[0].update(*_states(2, 5))
        parts[1].update(*_states(1, 3))
        layer.place(slice(0, 2), 3, parts[0], end=5)
        layer.place(slice(2, 3), 3, parts[1], end=5)
        assert layer.get_seq_length() == 5 and layer.keys.shape == (3, 2, 5, 4)
        assert torch.equal(layer.keys[:2], parts[0].keys)
        assert torch.equal(layer.values[2:, :, 2:], parts[1].values)
        assert not layer.keys[2:, :, :2].any(), "padding before a shorter sub-batch is zero"

    def test_places_a_shared_prefix_first_and_the_rest_right_aligned(self) -> None:
        torch.manual_seed(0)
        layer, part = ReservedLayer(capacity=8), DynamicLayer()
        part.update(*_states(2, 5))  # 2 shared positions, then 3 of the sub-batch's own
        layer.place(slice(0, 2), 2, part, end=7, shared=2)
        assert torch.equal(layer.keys[:, :, :2], part.keys[:, :, :2])
        assert torch.equal(layer.keys[:, :, 4:7], part.keys[:, :, 2:])
        assert not layer.keys[:, :, 2:4].any() and layer.get_seq_length() == 7

    def test_refuses_to_pass_its_capacity(self) -> None:
        layer = ReservedLayer(capacity=4)
        layer.update(*_states(1, 4))
        with pytest.raises(ValueError, match="5 positions asked of 4 reserved"):
            layer.update(*_states(1, 1))


def test_copies_repeat_a_prefix_per_row(tiny_student: str) -> None:
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(tiny_student)
    prefix = DynamicCache(config=config)
    for layer in prefix.layers:
        layer.update(*_states(1, 3))
    rows = copies(prefix, 4, config)
    assert rows.layers[0].keys.shape == (4, 2, 3, 4)
    assert all(torch.equal(r, prefix.layers[1].values[0]) for r in rows.layers[1].values)


def test_model_logits_equal_with_either_cache(tiny_student: str) -> None:
    """A prefill and three decode steps of a real (tiny) model give identical logits."""
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(tiny_student)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config).eval()
    ids = torch.randint(3, config.vocab_size, (2, 6))
    logits = []
    for cache in (DynamicCache(config=config), reserved_cache(config, capacity=9)):
        with torch.no_grad():
            out = model(input_ids=ids, past_key_values=cache)
            steps = [out.logits[:, -1]]
            for _ in range(3):
                token = steps[-1].argmax(-1, keepdim=True)
                steps.append(model(input_ids=token, past_key_values=cache).logits[:, -1])
        logits.append(torch.stack(steps))
    assert isinstance(cache.layers[0], ReservedLayer)
    assert torch.equal(logits[0], logits[1])
