"""Records in common shapes (Alpaca, OpenAI/ShareGPT chat, question/answer columns without
ids) map to the canonical question and rationale schema."""

from __future__ import annotations

import pytest

from mind.shapes import Mapping, ShapeError, apply, content_id, final_answer, guess

ALPACA = {
    "instruction": "Add the numbers.",
    "input": "2 and 40",
    "output": "2 + 40 = 42.\nThe answer is 42.",
}
OPENAI_CHAT = {
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is 6 x 7?"},
        {"role": "assistant", "content": "6 x 7 = 42.\n#### 42"},
    ]
}
SHAREGPT = {
    "conversations": [
        {"from": "human", "value": "Hi"},
        {"from": "gpt", "value": "Hello!"},
        {"from": "human", "value": "What is 6 x 7?"},
        {"from": "gpt", "value": "It is \\boxed{42}."},
    ]
}


class TestGuess:
    def test_alpaca_chat_and_columns_are_recognised(self) -> None:
        assert guess([ALPACA], "questions").shape == "alpaca"
        assert guess([OPENAI_CHAT], "questions").shape == "chat"
        assert guess([SHAREGPT], "rationales").shape == "chat"
        columns = guess([{"Query": "q", "Response": "r", "uid": "7"}], "questions")
        assert columns == Mapping(
            "columns", {"id": "uid", "question": "Query", "answer": "Response"}
        )

    def test_exact_names_win_over_synonyms(self) -> None:
        mapping = guess(
            [{"question": "q", "input": "x", "answer": "a", "output": "o"}], "questions"
        )
        assert mapping.columns["question"] == "question" and mapping.columns["answer"] == "answer"


class TestApply:
    def test_alpaca_question_joins_instruction_and_input(self) -> None:
        question = apply(ALPACA, guess([ALPACA], "questions"), "questions")
        assert question["question"] == "Add the numbers.\n\n2 and 40"
        assert question["answer"] == "42"  # the worked output is cut to its final answer
        assert question["id"] == content_id("Add the numbers.\n\n2 and 40")

    def test_chat_takes_the_last_exchange(self) -> None:
        rationale = apply(SHAREGPT, Mapping("chat"), "rationales")
        assert rationale["question"] == "What is 6 x 7?"
        assert rationale["rationale"] == "It is \\boxed{42}."
        assert rationale["answer"] == "42"
        assert rationale["perspective"] == "other:standard_cot"
        openai = apply(OPENAI_CHAT, Mapping("chat"), "questions")
        assert (openai["question"], openai["answer"]) == ("What is 6 x 7?", "42")

    @pytest.mark.parametrize(
        ("reply", "gold"),
        [
            ("He starts with 3 and adds 4: 3 + 4 = 7. The answer is 7.", "7"),
            ("No, it is blue. The answer is no.", "no"),
            ("A fish lives in a (B) river. The answer is B.", "B"),
            ("So it is \\boxed{12}.", "12"),
            ("Paris", "Paris"),  # a short gold stating no answer line is kept
        ],
    )
    def test_a_one_line_reply_gives_the_answer_it_states(self, reply: str, gold: str) -> None:
        """Questions in chat shape: the gold is the reply's final answer, not the reply."""
        record = {
            "messages": [{"role": "user", "content": "q?"}, {"role": "assistant", "content": reply}]
        }
        assert apply(record, Mapping("chat"), "questions")["answer"] == gold

    def test_ids_come_from_the_question_so_both_kinds_agree(self) -> None:
        row = {"question": " What is 1+1? ", "answer": "2", "rationale": "1+1=2. The answer is 2."}
        q = apply(row, guess([row], "questions"), "questions")
        r = apply(row, guess([row], "rationales"), "rationales")
        assert q["id"] == r["id"] == content_id("What is 1+1?")
        assert "rationale" not in q and r["rationale"].startswith("1+1")

    def test_extra_fields_are_kept_and_given_ids_are_used(self) -> None:
        row = {"id": "a-1", "question": "q?", "answer": "3", "source": "mine"}
        assert apply(row, guess([row], "questions"), "questions") == row

    @pytest.mark.parametrize(
        ("record", "mapping", "field"),
        [
            ({"messages": [{"role": "user", "content": "q"}]}, Mapping("chat"), "messages"),
            ({"messages": "hello"}, Mapping("chat"), "messages"),
            ({"instruction": "", "output": "o"}, Mapping("alpaca"), "instruction"),
            ({"q": "text"}, Mapping("columns", {"question": "q", "answer": "a"}), "a"),
        ],
    )
    def test_a_record_that_does_not_fit_names_the_field(self, record, mapping, field) -> None:
        with pytest.raises(ShapeError) as caught:
            apply(record, mapping, "questions")
        assert caught.value.field == field


def test_final_answer_forms() -> None:
    assert final_answer("so 3 + 4 = 7\n#### 7") == "7"
    assert final_answer("Thus the answer is: $12$.") == "12"
    assert final_answer("Therefore \\boxed{\\frac{1}{2}}") == "\\frac{1}{2}"
    assert final_answer("step\n\nyes") == "yes"


def test_mapping_from_a_client_is_checked() -> None:
    assert Mapping.from_dict({"columns": {"question": "Q"}}).columns == {"question": "Q"}
    for raw, field in (
        ({"shape": "xml"}, "mapping.shape"),
        ({"columns": {"query": "Q"}}, "mapping.columns"),
        ({"perspective": ""}, "mapping.perspective"),
    ):
        with pytest.raises(ShapeError) as caught:
            Mapping.from_dict(raw)
        assert caught.value.field == field
