"""A study's analysis: accuracy with intervals per method and benchmark, paired tests
between every two methods on the same questions, and what they say, per budget.

Pure data in, JSON-ready data out (`mind.stats` does the statistics), so the studio's
study page and `experiments/` read a study the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from statistics import mean
from typing import Any

from mind import stats

POOLED = "pooled"


@dataclass
class CellScores:
    """One run of a study: which method (label) and seed, and right/wrong per question.

    `seed` is None for a method that does not train (its one run pairs with every seed).
    `correct[benchmark]` lists the questions in benchmark order, the same for every cell.
    """

    label: str
    seed: int | None
    kinds: dict[str, str] = field(default_factory=dict)  # benchmark -> "id" | "ood"
    correct: dict[str, list[bool]] = field(default_factory=dict)


def _method_rows(cells: Sequence[CellScores], labels: list[str]) -> list[dict[str, Any]]:
    """Per method: `seeds`, its training seeds, and per benchmark the accuracy over them
    with `seeds` mapping each seed (as a string) to its accuracy. A method that does not
    train has no seed: both are empty and its accuracy is its one run's."""
    rows = []
    for label in labels:
        mine = [c for c in cells if c.label == label]
        benchmarks = {}
        for name, kind in mine[0].kinds.items():
            per_seed = {c.seed: c.correct[name] for c in mine if name in c.correct}
            accs = [sum(v) / len(v) for v in per_seed.values() if v]
            n = len(next(iter(per_seed.values())))
            share = stats.proportion(mean(accs) * n if accs else 0.0, n)
            benchmarks[name] = {
                "kind": kind,
                "n": n,
                "accuracy": share.accuracy,
                "low": share.low,
                "high": share.high,
                "seeds": {
                    str(s): sum(v) / len(v) for s, v in per_seed.items() if v and s is not None
                },
                "seed_range": stats.seed_spread(accs),
            }
        seeds = sorted(c.seed for c in mine if c.seed is not None)
        rows.append({"label": label, "seeds": seeds, "benchmarks": benchmarks})
    return rows


def _by_seed(cells: Sequence[CellScores], label: str, seeds: list[int]) -> dict[int, CellScores]:
    """A label's cell per seed; a cell without a seed stands for every seed."""
    mine = [c for c in cells if c.label == label]
    if len(mine) == 1 and mine[0].seed is None:
        return dict.fromkeys(seeds, mine[0])
    return {c.seed: c for c in mine if c.seed is not None}


def _pair_rows(
    cells: Sequence[CellScores], labels: list[str], methods: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    seeds = sorted({c.seed for c in cells if c.seed is not None})
    rows = []
    for a, b in combinations(labels, 2):
        cells_a, cells_b = _by_seed(cells, a, seeds), _by_seed(cells, b, seeds)
        shared = [s for s in seeds if s in cells_a and s in cells_b] or [None]
        for bench in methods[a]["benchmarks"]:
            if bench not in methods[b]["benchmarks"]:
                continue
            tests = {}
            for seed in shared:
                ca = cells_a.get(seed) if seed is not None else _only(cells, a)
                cb = cells_b.get(seed) if seed is not None else _only(cells, b)
                tests[seed] = stats.paired_test(ca.correct[bench], cb.correct[bench])
            ranges = [methods[x]["benchmarks"][bench]["seed_range"] for x in (a, b)]
            known = [r for r in ranges if r is not None]
            spread = max(known) if known else None
            for seed, test in tests.items():
                rows.append(_pair(a, b, bench, seed, test, spread))
            if len(tests) > 1:
                rows.append(_pair(a, b, bench, POOLED, stats.pooled_test(tests.values()), spread))
    return rows


def _only(cells: Sequence[CellScores], label: str) -> CellScores:
    return next(c for c in cells if c.label == label)


def _pair(
    a: str, b: str, bench: str, seed: int | str | None, test: stats.Paired, spread: float | None
) -> dict[str, Any]:
    return {
        "a": a,
        "b": b,
        "benchmark": bench,
        "seed": seed,
        "n": test.n,
        "only_a": test.only_a,
        "only_b": test.only_b,
        "difference": test.difference,
        "p": test.p,
        "seed_spread": spread,
    }


def _adjust(rows: list[dict[str, Any]]) -> None:
    """Holm over each family: the per-seed tests, and the pooled ones (the headline)."""
    for family in (
        [r for r in rows if r["seed"] != POOLED],
        [r for r in rows if r["seed"] == POOLED],
    ):
        for row, p in zip(family, stats.holm([r["p"] for r in family]), strict=True):
            row["p_holm"] = p
            spread = row["seed_spread"] if row["seed"] == POOLED else None
            row["verdict"] = stats.verdict(row["difference"], p, spread)


def _detectable(methods: list[dict[str, Any]], base_label: str | None) -> dict[str, Any]:
    """Per benchmark: the smallest gain over the base student the study could detect."""
    out = {}
    for name in methods[0]["benchmarks"] if methods else []:
        rows = [m["benchmarks"][name] for m in methods if name in m["benchmarks"]]
        base = next((m for m in methods if m["label"] == base_label), None)
        baseline = (
            base["benchmarks"][name]["accuracy"] if base else mean(r["accuracy"] for r in rows)
        )
        n = rows[0]["n"]
        out[name] = {
            "n": n,
            "baseline": baseline,
            "difference": stats.detectable_difference(n, baseline),
            "alpha": stats.ALPHA,
            "power": stats.POWER,
        }
    return out


def compare(cells: Sequence[CellScores], base_label: str | None = None) -> dict[str, Any]:
    """Methods (in first-seen order) with intervals, every pair's tests, detectable gains.

    Raises ValueError when two cells scored a benchmark on different numbers of questions.
    """
    labels = list(dict.fromkeys(c.label for c in cells))
    if not labels:
        return {"methods": [], "paired": [], "detectable": {}}
    rows = _method_rows(cells, labels)
    methods = {r["label"]: r for r in rows}
    paired = _pair_rows(cells, labels, methods)
    _adjust(paired)
    return {
        "level": stats.LEVEL,
        "methods": rows,
        "paired": paired,
        "detectable": _detectable(rows, base_label),
    }
