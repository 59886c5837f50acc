"""Tokenisation with the chat template: loss only on the assistant part, answer positions
that point at the answer, truncation that never cuts the canonical line."""

from __future__ import annotations

import pytest

from mind.batching import ExampleTokenizer, check_fits, collate
from mind.config import DEFAULT_INSTRUCTION, ConfigError
from mind.curation import Example
from mind.data import Question
from mind.losses import IGNORE_INDEX
from mind.student import load_tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("smollm2-135m-instruct")


def targets(encoded) -> list[int]:
    return [t for t in encoded.labels if t != IGNORE_INDEX]


class TestEncoder:
    def test_loss_only_on_the_assistant_turn(self, tokenizer):
        enc = ExampleTokenizer(tokenizer, DEFAULT_INSTRUCTION, 256).encode(
            "What is 2+3?", "2+3=5.", "5"
        )
        text = tokenizer.decode(targets(enc))
        assert text.startswith("2+3=5.\nThe answer is 5.")
        assert "What is 2+3?" not in text and "user" not in text
        # labels are aligned: labels[t] is the token at t + 1
        for t, label in enumerate(enc.labels):
            if label != IGNORE_INDEX:
                assert label == enc.input_ids[t + 1]

    def test_answer_positions_predict_the_answer_tokens(self, tokenizer):
        enc = ExampleTokenizer(tokenizer, DEFAULT_INSTRUCTION, 256).encode("Q?", "Work.", "1234")
        predicted = [enc.input_ids[p + 1] for p in enc.answer_positions]
        assert tokenizer.decode(predicted).strip() == "1234"

    def test_truncation_keeps_the_final_line(self, tokenizer):
        long_body = "step " * 500
        enc = ExampleTokenizer(tokenizer, DEFAULT_INSTRUCTION, 128).encode("Q?", long_body, "7")
        assert len(enc.input_ids) == 128
        assert tokenizer.decode(targets(enc)).rstrip().endswith("The answer is 7.<|im_end|>")

    def test_prompt_too_long_is_an_error(self, tokenizer):
        with pytest.raises(ValueError, match="max_seq_len"):
            ExampleTokenizer(tokenizer, DEFAULT_INSTRUCTION, 40).encode("word " * 100, "b", "1")


class TestCheckFits:
    """Before training (and at submit), the longest prompt-and-answer is named with its tokens."""

    def _examples(self) -> list[Example]:
        short = Example(Question("short", "Q?", "3"), {"a": "x\nThe answer is 3."})
        long = Example(Question("long", "word " * 60, "4"), {"a": "y\nThe answer is 4."})
        return [short, long]

    def test_names_the_longest_question_and_its_tokens(self, tokenizer) -> None:
        short, long = self._examples()
        probe = ExampleTokenizer(tokenizer, DEFAULT_INSTRUCTION, 256)
        room, needed = (probe.fixed_length(e, ["a"], False) for e in (short, long))
        encoder = ExampleTokenizer(tokenizer, DEFAULT_INSTRUCTION, room)
        with pytest.raises(ConfigError) as caught:
            check_fits(encoder, self._examples(), ["a"], False)
        assert caught.value.key == "train.max_seq_len"
        assert f"'long', takes {needed} tokens" in caught.value.message
        assert "1 of 2 questions" in caught.value.message

    def test_fixed_length_is_what_encoding_refuses(self, tokenizer) -> None:
        """At exactly the fixed length the question encodes; one token less it does not."""
        example = self._examples()[1]
        needed = ExampleTokenizer(tokenizer, DEFAULT_INSTRUCTION, 256).fixed_length(
            example, ["a"], False
        )
        fits = ExampleTokenizer(tokenizer, DEFAULT_INSTRUCTION, needed)
        check_fits(fits, [example], ["a"], False)
        assert fits.encode_example(0, example, ["a"]).slots
        with pytest.raises(ConfigError):
            check_fits(
                ExampleTokenizer(tokenizer, DEFAULT_INSTRUCTION, needed - 1),
                [example],
                ["a"],
                False,
            )


class TestCollate:
    def test_one_question_one_batch_with_slot_mask(self, tokenizer):
        encoder = ExampleTokenizer(tokenizer, DEFAULT_INSTRUCTION, 256)
        slots = ["a", "b", "c"]
        ex1 = Example(
            Question("1", "Q1?", "3"), {"a": "x\nThe answer is 3.", "c": "yy\nThe answer is 3."}
        )
        ex2 = Example(Question("2", "Q2?", "4"), {"b": "z\nThe answer is 4."})
        groups = [encoder.encode_example(i, e, slots) for i, e in enumerate([ex1, ex2])]
        batch = collate(groups, 3, tokenizer.pad_token_id)
        assert batch.input_ids.shape[0] == 3
        assert batch.slot_mask.tolist() == [[True, False, True], [False, True, False]]
        assert batch.row.tolist() == [0, 0, 1] and batch.slot.tolist() == [0, 2, 1]
        assert batch.tokens == sum(len(g.slots[s].input_ids) for g in groups for s in g.slots)
