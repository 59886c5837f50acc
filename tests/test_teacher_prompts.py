"""Teacher prompts: what each perspective's chat asks for, and the hash that names it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mind.data import Question, read_questions
from mind.perspectives import BUILTIN, Perspective, resolve
from mind.teacher.prompts import build_messages, prompt_sha256

GREEDY = {"temperature": 0.0, "max_tokens": 64}


@pytest.fixture(scope="module")
def gsm8k(shared: Path) -> Question:
    return read_questions(shared / "datasets" / "gsm8k" / "test.jsonl")[0]


@pytest.fixture(scope="module")
def csqa(shared: Path) -> Question:
    return read_questions(shared / "datasets" / "commonsenseqa" / "dev.jsonl")[0]


class TestBuildMessages:
    def test_every_builtin_asks_its_style_for_the_question_with_a_final_line(self, gsm8k):
        """The teacher must see the perspective's instruction, the question and the
        required last line, or the judge and curation cannot use its answer."""
        for perspective in BUILTIN.values():
            messages = build_messages(gsm8k, perspective)
            assert [m["role"] for m in messages] == ["system", "user"]
            user = messages[1]["content"]
            assert perspective.instruction in user
            assert gsm8k.question in user
            assert "'The answer is <answer>.'" in user

    def test_perspectives_get_different_prompts(self, gsm8k):
        """Eight perspectives must yield eight distinct prompts (and cache keys)."""
        hashes = {prompt_sha256(build_messages(gsm8k, p), GREEDY) for p in BUILTIN.values()}
        assert len(hashes) == len(BUILTIN)

    def test_multiple_choice_asks_for_the_letter(self, csqa):
        """Gold answers of multiple-choice sets are letters, so the teacher must answer so."""
        user = build_messages(csqa, BUILTIN["contrastive"])[1]["content"]
        assert "'The answer is <letter>.'" in user
        assert "one of A, B, C, D, E" in user

    def test_custom_and_other_perspectives_are_prompted_too(self, gsm8k):
        """User-defined perspectives and `other:*` ids from data resolve to instructions."""
        visual = Perspective("visual", "Visual", "Draw the situation as a diagram in words.")
        custom, other = resolve(["visual", "other:standard_cot"], custom=[visual])
        assert visual.instruction in build_messages(gsm8k, custom)[1]["content"]
        assert "standard cot" in build_messages(gsm8k, other)[1]["content"]


class TestPromptSha256:
    def test_is_stable_and_canonical(self, gsm8k):
        """The hash is stored with each rationale: the same prompt must always give it,
        whatever the order of keys in the sampling mapping."""
        messages = build_messages(gsm8k, BUILTIN["planning"])
        reordered = {"max_tokens": 64, "temperature": 0.0}
        assert prompt_sha256(messages, GREEDY) == prompt_sha256(messages, reordered)
        assert len(prompt_sha256(messages, GREEDY)) == 64

    @pytest.mark.parametrize(
        "sampling",
        [
            pytest.param({"temperature": 0.7, "max_tokens": 64, "seed": 0}, id="temperature"),
            pytest.param({"temperature": 0.0, "max_tokens": 65}, id="max_tokens"),
        ],
    )
    def test_changes_with_sampling(self, gsm8k, sampling):
        """Different sampling settings are a different request: they must not share a hash."""
        messages = build_messages(gsm8k, BUILTIN["planning"])
        assert prompt_sha256(messages, GREEDY) != prompt_sha256(messages, sampling)
