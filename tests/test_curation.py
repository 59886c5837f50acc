"""Data reading and curation: located errors, judging, picking, down-sampling, endings."""

import json
from pathlib import Path

import pytest

from mind.config import DataConfig
from mind.curation import curate, looks_like_program, normalise_ending
from mind.data import DataError, Question, Rationale, read_questions, read_rationales


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def rat(
    qid: str, persp: str, correct: bool = True, teacher: str = "t", text: str = "x"
) -> Rationale:
    return Rationale(id=qid, perspective=persp, rationale=text, correct=correct, teacher=teacher)


QS = [Question(f"q{i}", f"question {i}?", str(i)) for i in range(4)]


class TestReaders:
    def test_error_names_file_line_and_field(self, tmp_path):
        path = write_jsonl(
            tmp_path / "r.jsonl",
            [
                {"id": "a", "perspective": "planning", "rationale": "ok"},
                {"id": "b", "perspective": "x"},
            ],
        )
        with pytest.raises(DataError) as err:
            read_rationales(path)
        assert err.value.line == 2 and err.value.field == "rationale"
        assert str(path) in str(err.value)

    def test_bad_json_and_duplicate_ids(self, tmp_path):
        bad = write_jsonl(
            tmp_path / "q.jsonl", ['{"id": "a", "question": "q", "answer": "1"}', "{nope"]
        )
        with pytest.raises(DataError, match=r"q.jsonl:2: invalid JSON"):
            read_questions(bad)
        dup = write_jsonl(tmp_path / "d.jsonl", [{"id": "a", "question": "q", "answer": 1}] * 2)
        with pytest.raises(DataError, match="field 'id': duplicate"):
            read_questions(dup)

    def test_reads_the_shared_files(self, shared):
        questions = read_questions(shared / "datasets/svamp/test.jsonl")
        rationales = read_rationales(shared / "teacher_rationales/svamp_test.jsonl")
        assert len(questions) == 1000
        assert {r.perspective for r in rationales} >= {"formal_symbolic", "other:standard_cot"}


class TestNormaliseEnding:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("76 - 25 = 51. The answer is 51.", "76 - 25 = 51.\nThe answer is 51."),
            ("x = 51\nSo the answer is 51.\n", "x = 51\nThe answer is 51."),
            ("Steps.\n#### 51", "Steps.\nThe answer is 51."),
            ("Steps.\nAnswer: (B) bank", "Steps.\nThe answer is B."),
            (
                "The answer is 3 apples, but wait. It is 51",
                "The answer is 3 apples, but wait. It is 51\nThe answer is 51.",
            ),
        ],
    )
    def test_canonical_line(self, text, expected):
        answer = "B" if "bank" in text else "51"
        assert normalise_ending(text, answer) == expected


class TestCurate:
    def test_judge_filters_and_min_perspectives(self):
        rationales = [rat("q0", "a"), rat("q0", "b", correct=False), rat("q1", "a"), rat("q1", "b")]
        cfg = DataConfig(downsample_easy=False, min_perspectives=2)
        examples, report = curate(QS, rationales, ["a", "b"], cfg, seed=0)
        assert [e.question.id for e in examples] == ["q1"]
        assert report.rationales_rejected == 1 and report.below_min_perspectives == 1

    def test_prefer_teacher_then_pick_rule(self):
        rationales = [
            rat("q0", "a", teacher="small", text="short"),
            rat("q0", "a", teacher="big", text="a much longer one"),
            rat("q0", "a", teacher="big", text="mid one"),
        ]
        base = DataConfig(downsample_easy=False, min_perspectives=1)
        pick = lambda **kw: curate(QS, rationales, ["a"], base.model_copy(update=kw), 0)[0][0]  # noqa: E731
        assert pick().teachers["a"] == "small"  # "first" in file order
        assert pick(prefer_teachers=["big"], pick="shortest").rationales["a"].startswith("mid one")
        assert pick(prefer_teachers=["big"], pick="longest").rationales["a"].startswith("a much")

    def test_difficulty_downsampling_keeps_hard_questions(self):
        """Every question with a wrong rationale is hard and kept; easy ones are thinned."""
        many = [Question(f"q{i}", "?", "1") for i in range(200)]
        rationales = [rat(q.id, p) for q in many for p in ("a", "b")]
        rationales += [rat(q.id, "b", correct=False) for q in many[:50]]
        cfg = DataConfig(easy_keep_fraction=0.3)
        examples, report = curate(many, rationales, ["a", "b"], cfg, seed=1)
        kept = {e.question.id for e in examples}
        assert {q.id for q in many[:50]} <= kept
        assert report.easy == 150
        assert 25 < len(kept) - 50 < 65  # about 30% of 150
        again, _ = curate(many, rationales, ["a", "b"], cfg, seed=1)
        assert [e.question.id for e in again] == [e.question.id for e in examples]

    def test_source_split_filter_and_max_questions(self):
        rationales = [rat(q.id, p) for q in QS for p in ("a", "b")]
        rationales[0] = Rationale("q0", "a", "x", correct=True, source_split="mcc-kd:train")
        rationales[4] = Rationale("q2", "a", "x", correct=True, source_split="mcc-kd:train")
        cfg = DataConfig(downsample_easy=False, source_split="mcc-kd:train")
        examples, _ = curate(QS, rationales, ["a", "b"], cfg, 0)
        assert [e.question.id for e in examples] == ["q0", "q2"]
        cfg = DataConfig(
            downsample_easy=False, exclude_source_split="mcc-kd:train", max_questions=1
        )
        examples, _ = curate(QS, rationales, ["a", "b"], cfg, 0)
        assert [e.question.id for e in examples] == ["q1"]

    def test_rationales_end_with_the_canonical_line(self, shared):
        questions = read_questions(shared / "datasets/svamp/test.jsonl")[:20]
        rationales = read_rationales(shared / "teacher_rationales/svamp_test.jsonl")
        examples, _ = curate(
            questions, rationales, ["decomposition", "formal_symbolic"], DataConfig(), 0
        )
        assert examples
        for e in examples:
            for text in e.rationales.values():
                assert text.endswith(f"\nThe answer is {e.question.answer}.")
                assert text.count(f"The answer is {e.question.answer}.") >= 1


PROGRAM = "cost = 76\ndiscount = 25\n# what is left\nans = cost - discount"
PROSE = "Each pack costs 76 dollars.\nThe discount is 25, so x = 51 remains.\nThe answer is 51."


class TestProgramRationales:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            pytest.param(PROGRAM, True, id="program"),
            pytest.param(PROSE, False, id="prose-with-one-equation"),
            pytest.param("def f():\n    return 3\nprint(f())", True, id="def-return-print"),
        ],
    )
    def test_detection(self, text, expected):
        assert looks_like_program(text) is expected

    def test_flagged_or_dropped_by_rule(self):
        rationales = [rat("q0", "a", text=PROGRAM), rat("q0", "b", text=PROSE), rat("q0", "c")]
        cfg = DataConfig(downsample_easy=False, min_perspectives=2)
        kept, report = curate(QS, rationales, ["a", "b", "c"], cfg, 0, programs="no_consistency")
        assert kept[0].programs == {"a"} and set(kept[0].rationales) == {"a", "b", "c"}
        assert report.program_rationales == 1 and report.programs_dropped == 0
        dropped, report = curate(QS, rationales, ["a", "b", "c"], cfg, 0, programs="drop")
        assert set(dropped[0].rationales) == {"b", "c"} and not dropped[0].programs
        assert report.programs_dropped == 1

    def test_drop_happens_before_min_perspectives(self):
        rationales = [rat("q0", "a", text=PROGRAM), rat("q0", "b", text=PROSE)]
        cfg = DataConfig(downsample_easy=False, min_perspectives=2)
        kept, report = curate(QS, rationales, ["a", "b"], cfg, 0, programs="drop")
        assert kept == [] and report.below_min_perspectives == 1

    def test_shared_formal_symbolic_rationales_are_mostly_programs(self, shared):
        records = read_rationales(shared / "teacher_rationales/svamp_test.jsonl")
        formal = [r for r in records if r.perspective == "formal_symbolic"][:300]
        prose = [r for r in records if r.perspective == "decomposition"][:300]
        assert sum(looks_like_program(r.rationale) for r in formal) > 0.9 * len(formal)
        assert not any(looks_like_program(r.rationale) for r in prose)
