"""Packed batches: one row, no padding, and exactly the losses and gradients of padded ones."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from mind.batching import Encoded, ExampleTokenizer, Group, collate
from mind.config import parse_config
from mind.forward import CE_CHUNK_TOKENS, student_forward, token_ce
from mind.packing import IMPLEMENTATION, document_block_mask, pad_index, pick_kernel
from mind.reporter import NullReporter
from mind.trainer import Trainer
from mind.training_data import load_training_data

QUESTIONS = [
    ("Tom has 3 apples and buys 4 more. How many apples?", "7"),
    ("A train goes 60 km in 1.5 hours. What is its speed in km/h?", "40"),
]
BODIES = [
    "3 + 4 = 7.",
    "Start from 3 apples. Buying 4 more adds 4, so the total is 3 + 4, which is 7 apples.",
    "Speed is distance over time: 60 / 1.5 = 40.",
]


@pytest.fixture(scope="module")
def groups(tiny_student) -> list[Group]:
    """Two questions with rationales of different lengths (so padding would be needed)."""
    tokenizer = AutoTokenizer.from_pretrained(tiny_student)
    encoder = ExampleTokenizer(tokenizer, "Answer.", max_seq_len=128)
    return [
        Group(0, {0: encoder.encode(*_qa(0, 0)), 2: encoder.encode(*_qa(0, 1))}),
        Group(1, {1: encoder.encode(*_qa(1, 2))}),
    ]


def _qa(q: int, body: int) -> tuple[str, str, str]:
    return QUESTIONS[q][0], BODIES[body], QUESTIONS[q][1]


@pytest.fixture
def model(tiny_student) -> torch.nn.Module:
    return AutoModelForCausalLM.from_pretrained(tiny_student, dtype=torch.float32).train()


def grads(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])


class TestPackedLayout:
    def test_one_row_without_padding_positions_restart(self, groups):
        padded = collate(groups, n_slots=3, pad_id=0)
        packed = collate(groups, n_slots=3, pad_id=0, packed=True)
        lengths = packed.lengths.tolist()
        assert packed.input_ids.shape == (1, sum(lengths))
        assert packed.tokens == padded.tokens == sum(lengths)
        assert packed.offsets.tolist() == [0, lengths[0], lengths[0] + lengths[1]]
        starts = (packed.position_ids[0] == 0).nonzero().squeeze(1)
        assert starts.tolist() == packed.offsets.tolist()
        for i, (start, n) in enumerate(zip(packed.offsets, lengths, strict=True)):
            assert torch.equal(packed.input_ids[0, start : start + n], padded.input_ids[i, :n])
            assert torch.equal(packed.labels[0, start : start + n], padded.labels[i, :n])

    def test_single_sequence_labels_and_positions(self):
        e = Encoded([1, 2, 3], [2, 3, -100], [1])
        batch = collate([Group(0, {0: e})], 1, 0, packed=True)
        assert batch.labels.tolist() == [[2, 3, -100]]
        assert batch.position_ids.tolist() == [[0, 1, 2]]

    def test_pad_index_places_each_token_in_its_padded_row(self):
        cu = torch.tensor([0, 2, 5, 6])
        assert pad_index(cu, max_len=3, total=6).tolist() == [0, 1, 3, 4, 5, 6]


class TestPackedForward:
    def test_same_losses_answers_and_gradients_as_padded(self, model, groups):
        """Packing must change speed only: per-sequence CE, answer log-probs and gradients."""
        padded = student_forward(model, collate(groups, 3, 0), with_answers=True)
        padded.ce.sum().backward()
        padded_grads = grads(model)
        model.zero_grad()
        packed = student_forward(model, collate(groups, 3, 0, packed=True), with_answers=True)
        packed.ce.sum().backward()
        assert model.config._attn_implementation == IMPLEMENTATION
        torch.testing.assert_close(packed.ce, padded.ce, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(
            packed.answer_logprobs, padded.answer_logprobs, atol=1e-5, rtol=1e-5
        )
        torch.testing.assert_close(grads(model), padded_grads, atol=1e-5, rtol=1e-4)

    def test_packed_attention_leaves_unpacked_calls_as_sdpa(self, model, groups):
        """Once switched, padded batches (and generation) must see plain sdpa results."""
        batch = collate(groups, 3, 0)
        with torch.no_grad():
            before = student_forward(model, batch, with_answers=True)
            student_forward(model, collate(groups, 3, 0, packed=True), with_answers=False)
            after = student_forward(model, batch, with_answers=True)
        torch.testing.assert_close(after.ce, before.ce)
        torch.testing.assert_close(after.answer_logprobs, before.answer_logprobs)


class TestFlexKernel:
    """FlexAttention's document mask computes what the padded reference computes.

    Torch has FlexAttention forward only on CPU, so gradients are compared on a GPU
    (`bench/packing_check.py`, run by bench/gpu_check.sh).
    """

    def test_block_mask_is_causal_within_each_sequence(self):
        cu = torch.tensor([0, 2, 5, 6], dtype=torch.int32)
        dense = document_block_mask(cu, 6).to_dense()  # [1, 1, blocks, blocks]
        assert dense.shape[-1] == 1, "6 tokens fit in one 128-token block"
        doc = torch.tensor([0, 0, 1, 1, 1, 2])
        expected = (doc[:, None] == doc[None, :]) & torch.ones(6, 6, dtype=torch.bool).tril()
        mod = document_block_mask(cu, 6).mask_mod
        idx = torch.arange(6)
        assert torch.equal(mod(0, 0, idx[:, None], idx[None, :]), expected)

    def test_same_losses_and_answers_as_padded(self, model, groups):
        batch = collate(groups, 3, 0, packed=True)
        with torch.no_grad():
            padded = student_forward(model, batch, True, packed_attention="padded")
            flex = student_forward(model, batch, True, packed_attention="flex")
        torch.testing.assert_close(flex.ce, padded.ce, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(
            flex.answer_logprobs, padded.answer_logprobs, atol=1e-5, rtol=1e-5
        )

    def test_kernel_choice_per_device(self):
        cpu = torch.device("cpu")
        assert pick_kernel("auto", cpu) == "padded"
        assert pick_kernel("padded", cpu) == "padded"
        with torch.no_grad():
            assert pick_kernel("flex", cpu) == "flex"
        with pytest.raises(ValueError, match=r"train\.packed_attention: 'flex' has no backward"):
            pick_kernel("flex", cpu)
        with pytest.raises(ValueError, match=r"train\.packed_attention: 'flash' needs"):
            pick_kernel("flash", cpu)


class TestTokenCE:
    @pytest.mark.parametrize(
        "frozen_head",
        [pytest.param(False, id="trained-head"), pytest.param(True, id="frozen-head")],
    )
    def test_matches_autograd_cross_entropy(self, frozen_head):
        """The hand-written backward must equal autograd's, over more than one chunk."""
        torch.manual_seed(0)
        m, h, v = CE_CHUNK_TOKENS + 7, 16, 50
        hidden = torch.randn(m, h, dtype=torch.float64, requires_grad=True)
        head = torch.nn.Linear(h, v, bias=False, dtype=torch.float64)
        head.weight.requires_grad_(not frozen_head)
        targets = torch.randint(0, v, (m,))
        upstream = torch.rand(m, dtype=torch.float64)
        ours = token_ce(hidden, targets, head)
        (ours * upstream).sum().backward()
        ours_grads = [hidden.grad.clone(), head.weight.grad]
        hidden.grad = None
        head.weight.grad = None
        ref = torch.nn.functional.cross_entropy(head(hidden), targets, reduction="none")
        (ref * upstream).sum().backward()
        torch.testing.assert_close(ours, ref)
        torch.testing.assert_close(ours_grads[0], hidden.grad)
        if frozen_head:
            assert ours_grads[1] is None
        else:
            torch.testing.assert_close(ours_grads[1], head.weight.grad)


class TestTrainerPacking:
    def test_first_step_loss_matches_padded(self, tiny_student, shared, tmp_path):
        """The `train.packing` switch reaches the trainer without changing what it computes."""
        losses = []
        for packing in (False, True):
            config = parse_config(
                {
                    "student": tiny_student,
                    "method": "mcc",
                    "data": {
                        "questions": str(shared / "datasets/svamp/test.jsonl"),
                        "rationales": str(shared / "teacher_rationales/svamp_test.jsonl"),
                        "max_questions": 2,
                    },
                    "train": {"questions_per_batch": 2, "max_seq_len": 192, "packing": packing},
                }
            )
            trainer = Trainer(config, load_training_data(config), tmp_path, NullReporter()).setup()
            losses.append(trainer.optimizer_step().get("loss"))
        assert losses[1] == pytest.approx(losses[0], abs=1e-5)
