"""The statistics of a study (mind.stats) and its analysis (mind.comparison): properties a
reader relies on, checked against values computed by hand or by scipy directly."""

from __future__ import annotations

import pytest
from scipy.stats import binomtest

from mind import stats
from mind.comparison import POOLED, CellScores, compare


class TestProportion:
    def test_interval_contains_the_estimate_and_narrows_with_n(self) -> None:
        small, large = stats.proportion(3, 6), stats.proportion(300, 600)
        assert small.low < 0.5 < small.high and large.low < 0.5 < large.high
        assert large.high - large.low < (small.high - small.low) / 5

    def test_wilson_stays_inside_zero_one_at_the_edges(self) -> None:
        none, every = stats.proportion(0, 10), stats.proportion(10, 10)
        assert none.low == 0.0 and 0.2 < none.high < 0.35
        assert every.high == pytest.approx(1.0) and 0.65 < every.low < 0.8

    def test_empty_benchmark_is_the_whole_range(self) -> None:
        assert (stats.proportion(0, 0).low, stats.proportion(0, 0).high) == (0.0, 1.0)


class TestPairedTest:
    def test_counts_only_the_disagreements(self) -> None:
        a = [True, True, True, False, False, True]
        b = [True, False, False, False, True, True]
        test = stats.paired_test(a, b)
        assert (test.n, test.only_a, test.only_b) == (6, 2, 1)
        assert test.p == pytest.approx(binomtest(2, 3).pvalue)
        assert test.difference == pytest.approx(1 / 6)

    def test_identical_students_give_p_one(self) -> None:
        assert stats.paired_test([True, False], [True, False]).p == 1.0

    def test_symmetric(self) -> None:
        a, b = [True] * 9 + [False], [False] * 8 + [True, True]
        assert stats.paired_test(a, b).p == pytest.approx(stats.paired_test(b, a).p)

    def test_different_questions_are_refused(self) -> None:
        with pytest.raises(ValueError, match="same questions"):
            stats.paired_test([True], [True, False])

    def test_pooling_seeds_adds_disagreements(self) -> None:
        """Each seed alone is inconclusive; together the same direction is significant."""
        one = stats.paired_test([True] * 6 + [False] * 4, [False] * 6 + [False] * 4)
        pooled = stats.pooled_test([one, one, one])
        assert one.p > 0.03 and pooled.p < 0.001
        assert (pooled.n, pooled.only_a, pooled.only_b) == (30, 18, 0)


class TestPowerAndVerdicts:
    def test_detectable_difference_shrinks_with_n(self) -> None:
        six, big = stats.detectable_difference(6, 0.3), stats.detectable_difference(600, 0.3)
        assert six is not None and big is not None
        assert 0.05 < big < 0.1 < six

    def test_no_questions_detect_nothing(self) -> None:
        assert stats.detectable_difference(0, 0.5) is None

    def test_holm_never_lowers_a_p_value(self) -> None:
        raw = [0.01, 0.04, 0.03, 0.5]
        adjusted = stats.holm(raw)
        assert all(adj >= p for adj, p in zip(adjusted, raw, strict=True))
        assert adjusted[0] == pytest.approx(0.04)

    @pytest.mark.parametrize(
        ("difference", "p", "spread", "expected"),
        [
            pytest.param(0.10, 0.001, 0.02, stats.BEYOND_CHANCE, id="significant-above-noise"),
            pytest.param(0.02, 0.001, 0.05, stats.WITHIN_SEED_NOISE, id="under-seed-range"),
            pytest.param(0.10, 0.2, 0.02, stats.NOT_SIGNIFICANT, id="large-but-untested"),
            pytest.param(0.10, 0.001, None, stats.BEYOND_CHANCE, id="one-seed"),
        ],
    )
    def test_verdict(self, difference, p, spread, expected) -> None:
        assert stats.verdict(difference, p, spread) == expected


def _cell(label: str, seed: int | None, correct: list[bool]) -> CellScores:
    return CellScores(label, seed, {"svamp": "id"}, {"svamp": correct})


class TestCompare:
    def test_methods_pairs_and_pooled_rows(self) -> None:
        base = [True, False] * 10
        cells = [
            _cell("zero_shot", None, base),
            _cell("sft", 0, [True] * 12 + [False] * 8),
            _cell("sft", 1, [True] * 14 + [False] * 6),
            _cell("mind", 0, [True] * 13 + [False] * 7),
            _cell("mind", 1, [True] * 13 + [False] * 7),
        ]
        result = compare(cells, "zero_shot")
        methods = {m["label"]: m for m in result["methods"]}
        assert list(methods) == ["zero_shot", "sft", "mind"]
        sft = methods["sft"]["benchmarks"]["svamp"]
        assert sft["accuracy"] == pytest.approx(0.65) and sft["seed_range"] == pytest.approx(0.1)
        assert sft["seeds"] == {"0": pytest.approx(0.6), "1": pytest.approx(0.7)}
        base_row = methods["zero_shot"]
        assert base_row["seeds"] == [] and base_row["benchmarks"]["svamp"]["seeds"] == {}
        assert base_row["benchmarks"]["svamp"]["seed_range"] is None
        rows = [(r["a"], r["b"], r["seed"]) for r in result["paired"]]
        assert ("zero_shot", "sft", 0) in rows and ("zero_shot", "sft", 1) in rows
        assert ("sft", "mind", POOLED) in rows
        pooled = next(r for r in result["paired"] if r["seed"] == POOLED and r["a"] == "sft")
        assert pooled["verdict"] == stats.WITHIN_SEED_NOISE  # 0 gap, 10 points of seed range
        assert all(r["p_holm"] >= r["p"] for r in result["paired"])
        assert result["detectable"]["svamp"]["baseline"] == pytest.approx(0.5)

    def test_different_question_counts_are_refused(self) -> None:
        with pytest.raises(ValueError, match="same questions"):
            compare([_cell("a", 0, [True]), _cell("b", 0, [True, False])])
