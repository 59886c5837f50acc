"""Generation engines: batching, sorting and early stops must not change greedy answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from mind.config import EvalConfig
from mind.data import read_questions
from mind.generation import (
    AnswerStop,
    Completion,
    completion,
    fast_generate,
    generate,
    plain_generate,
    ran_out,
    truncate_at_answer,
)
from mind.student import load_tokenizer
from mind.student_prompt import prompt_text

INSTRUCTION = "Think step by step. End with 'The answer is <answer>.'"


@pytest.fixture(scope="module")
def chatty(tiny_student: str) -> tuple[Any, Any]:
    """The tiny student with an untied output layer.

    With tied embeddings a random model just repeats the prompt's last token (a newline), so
    every output would be empty and batched/single equality would prove nothing.
    """
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(tiny_student, tie_word_embeddings=False)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config).eval()
    return model, load_tokenizer(tiny_student)


@pytest.fixture(scope="module")
def prompts(shared: Path, chatty: tuple[Any, Any]) -> list[str]:
    """Seven SVAMP prompts of different lengths, so sorting reorders them across batches."""
    questions = read_questions(shared / "datasets" / "svamp" / "test.jsonl")[:7]
    return [prompt_text(chatty[1], q.question, INSTRUCTION) for q in questions]


def _cfg(**fields: Any) -> EvalConfig:
    return EvalConfig(**{"max_new_tokens": 12, "batch_size": 3, **fields})


def _texts(outputs: list[Completion]) -> list[str]:
    return [c.text for c in outputs]


def _batch_sizes(model: Any, run: Any) -> list[int]:
    """The batch size of every forward pass `run()` makes."""
    sizes: list[int] = []

    def record(_module: Any, _args: Any, kwargs: dict[str, Any]) -> None:
        sizes.append(kwargs["input_ids"].shape[0])

    handle = model.register_forward_pre_hook(record, with_kwargs=True)
    try:
        run()
    finally:
        handle.remove()
    return sizes


class TestPlainEngine:
    """Batching is an optimization only: it must not change what greedy decoding says."""

    def test_batched_equals_one_at_a_time(self, chatty: tuple[Any, Any], prompts: list[str]):
        model, tokenizer = chatty
        batched = plain_generate(model, tokenizer, prompts[:4], _cfg(batch_size=4))
        single = [plain_generate(model, tokenizer, [p], _cfg())[0] for p in prompts[:4]]
        assert batched == single
        texts = _texts(batched)
        assert all(texts) and len(set(texts)) == len(texts), "outputs must be non-trivial"

    def test_prompts_are_left_padded(self, chatty: tuple[Any, Any], prompts: list[str]) -> None:
        """The first forward pass sees padding only on the left of shorter prompts."""
        model, tokenizer = chatty
        masks: list[Any] = []

        def keep_mask(_module: Any, _args: Any, kwargs: dict[str, Any]) -> None:
            masks.append(kwargs["attention_mask"].clone())

        handle = model.register_forward_pre_hook(keep_mask, with_kwargs=True)
        try:
            plain_generate(model, tokenizer, prompts[:3], _cfg(max_new_tokens=2))
        finally:
            handle.remove()
        first = masks[0]
        assert first.shape[0] == 3
        assert (first[:, -1] == 1).all(), "every prompt must end at the last position"
        assert (first == 0).any(), "the questions differ in length, so some padding is expected"
        assert (first.cummax(dim=1).values == first).all(), "zeros only before the prompt"


class TestFastEngine:
    """The fast engine returns exactly plain generate's text, in the prompts' order."""

    @pytest.mark.parametrize("stop_at_answer", [False, True])
    def test_same_text_as_plain(
        self, chatty: tuple[Any, Any], prompts: list[str], stop_at_answer: bool
    ) -> None:
        model, tokenizer = chatty
        cfg = {"stop_at_answer": stop_at_answer}
        fast = generate(model, tokenizer, prompts, _cfg(engine="fast", **cfg))
        plain = generate(model, tokenizer, prompts, _cfg(engine="plain", **cfg))
        assert fast == plain
        texts = _texts(fast)
        assert all(texts) and len(set(texts)) == len(texts)

    def test_prompts_prefill_in_sub_batches(
        self, chatty: tuple[Any, Any], prompts: list[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Prefilled as a shared prefix once, then a few prompts at a time into the reserved
        cache, the text is unchanged."""
        model, tokenizer = chatty
        cfg = _cfg(batch_size=7)
        plain = plain_generate(model, tokenizer, prompts, cfg)
        monkeypatch.setattr("mind.generation.PREFILL_ROWS", 2)
        fast: list[Completion] = []
        sizes = _batch_sizes(
            model, lambda: fast.extend(fast_generate(model, tokenizer, prompts, cfg))
        )
        assert fast == plain
        assert sizes[:6] == [1, 2, 2, 2, 1, 7], f"prefix, 4 sub-batches, decoding: {sizes}"

    def test_finished_rows_leave_the_batch(
        self, chatty: tuple[Any, Any], prompts: list[str]
    ) -> None:
        """A row that hits EOS early is dropped; the others still match plain generate."""
        model, tokenizer = chatty
        cfg = _cfg(batch_size=7, max_new_tokens=10)
        reference = plain_generate(model, tokenizer, prompts, cfg)
        ids = tokenizer(reference[0].text, add_special_tokens=False)["input_ids"]
        original = model.generation_config.eos_token_id
        model.generation_config.eos_token_id = [tokenizer.eos_token_id, ids[2]]
        try:
            plain = plain_generate(model, tokenizer, prompts, cfg)
            fast: list[Completion] = []
            sizes = _batch_sizes(
                model, lambda: fast.extend(fast_generate(model, tokenizer, prompts, cfg))
            )
        finally:
            model.generation_config.eos_token_id = original
        assert fast == plain
        assert len(plain[0].text) < len(reference[0].text), "the new EOS must end row 0 early"
        assert sizes[2] == 7 and sizes[-1] < 7, f"finished rows must leave: {sizes}"

    def test_batches_are_sorted_by_prompt_length(
        self, chatty: tuple[Any, Any], prompts: list[str]
    ) -> None:
        model, tokenizer = chatty
        widths: list[int] = []

        def record(_module: Any, _args: Any, kwargs: dict[str, Any]) -> None:
            """The prompt width of every batch's prefill (the shared prefix has no mask)."""
            if kwargs["input_ids"].shape[1] > 1 and kwargs.get("attention_mask") is not None:
                widths.append(kwargs["attention_mask"].shape[1])

        handle = model.register_forward_pre_hook(record, with_kwargs=True)
        try:
            fast_generate(model, tokenizer, prompts, _cfg(max_new_tokens=1))
        finally:
            handle.remove()
        lengths = sorted((len(tokenizer(p)["input_ids"]) for p in prompts), reverse=True)
        assert widths == [lengths[0], lengths[3], lengths[6]]

    def test_progress_counts_every_prompt(
        self, chatty: tuple[Any, Any], prompts: list[str]
    ) -> None:
        seen: list[int] = []
        fast_generate(*chatty, prompts, _cfg(max_new_tokens=1), seen.append)
        assert seen == [3, 3, 1]


class TestTruncated:
    """An output is truncated when it ran out of new tokens before EOS and an answer line."""

    @pytest.mark.parametrize("engine", ["fast", "plain"])
    def test_cut_at_max_new_tokens(
        self, chatty: tuple[Any, Any], prompts: list[str], engine: str
    ) -> None:
        outputs = generate(*chatty, prompts, _cfg(engine=engine, max_new_tokens=4))
        assert all(c.text for c in outputs)
        assert [c.truncated for c in outputs] == [True] * len(prompts)

    @pytest.mark.parametrize("engine", ["fast", "plain"])
    def test_ended_by_eos_is_not_truncated(
        self, chatty: tuple[Any, Any], prompts: list[str], engine: str
    ) -> None:
        """With each row's third token made an EOS, every row ends before the budget."""
        model, tokenizer = chatty
        cfg = _cfg(engine=engine, max_new_tokens=6)
        reference = plain_generate(model, tokenizer, prompts, cfg)
        third = {tokenizer(c.text, add_special_tokens=False)["input_ids"][2] for c in reference}
        original = model.generation_config.eos_token_id
        model.generation_config.eos_token_id = [tokenizer.eos_token_id, *sorted(third)]
        try:
            outputs = generate(model, tokenizer, prompts, cfg)
        finally:
            model.generation_config.eos_token_id = original
        assert [c.truncated for c in outputs] == [False] * len(prompts)

    @pytest.mark.parametrize(
        ("text", "cut", "truncated"),
        [
            pytest.param("1. 6\n2. 1", True, True, id="cut-mid-list"),
            pytest.param("so 7.\nThe answer is 7.\nNext", True, False, id="answer-line-out"),
            pytest.param("The answer is 7", True, True, id="answer-line-unfinished"),
            pytest.param("1. 6\n2. 1", False, False, id="ended-by-eos"),
        ],
    )
    def test_a_complete_answer_line_is_never_truncated(
        self, text: str, cut: bool, truncated: bool
    ) -> None:
        assert completion(text, cut).truncated is truncated

    def test_ran_out_needs_a_full_budget_without_eos(self) -> None:
        assert ran_out([5, 6, 7], 3, eos=[2])
        assert not ran_out([5, 2, 0], 3, eos=[2]), "an EOS then padding ended the row"
        assert not ran_out([5, 6], 3, eos=[2])


class TestAnswerStop:
    """A row is finished once a complete final-answer line is out, not before."""

    def _first_stop(self, tokenizer: Any, text: str) -> str | None:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        stop = AnswerStop(tokenizer)
        for end in range(1, len(ids) + 1):
            if stop.done(ids[:end]):
                return tokenizer.decode(ids[:end])
        return None

    def test_stops_after_the_answer_line(self, tiny_student: str) -> None:
        tokenizer = load_tokenizer(tiny_student)
        text = "3 + 4 = 7.\nThe answer is 7.\nNow another question: what is 2 + 2?"
        assert self._first_stop(tokenizer, text).startswith("3 + 4 = 7.\nThe answer is 7.\n")

    @pytest.mark.parametrize(
        "text",
        [
            "The answer is 7. Let me check: 3 + 4 = 7",  # line not complete yet
            "The answer is:\n7\n",  # no answer on the answer line
            "First, the reasoning.\nThen more reasoning.\n",
        ],
    )
    def test_no_stop_without_a_complete_answer_line(self, tiny_student: str, text: str) -> None:
        assert self._first_stop(load_tokenizer(tiny_student), text) is None

    def test_truncate_keeps_the_first_answer_line(self) -> None:
        text = "so 7.\nThe final answer is 7.\nThe answer is 8.\n"
        assert truncate_at_answer(text) == "so 7.\nThe final answer is 7.\n"
        assert truncate_at_answer("no answer line") == "no answer line"


def test_vllm_engine_needs_its_model(chatty: tuple[Any, Any], prompts: list[str]) -> None:
    with pytest.raises(TypeError, match=r"eval\.engine 'vllm'"):
        generate(*chatty, prompts, _cfg(engine="vllm"))
