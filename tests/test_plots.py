"""Figures hold exactly the data they are given, and every figure is labelled."""

from __future__ import annotations

import pytest

from mind import plots
from mind.step_record import StepRecord


def _row(step: int, phase: str = "joint", meta: float | None = 0.02, **persp) -> StepRecord:
    return StepRecord.from_dict(
        {
            "step": step,
            "phase": phase,
            "loss": 2.0 - 0.1 * step,
            "sft_loss": 1.8 - 0.1 * step,
            "cons_loss": 0.4,
            "meta_loss": meta,
            "perspectives": {
                p: {"score": 0.5, "weight": w, "selected": s} for p, (w, s) in persp.items()
            },
        }
    )


METRICS = [
    _row(1, "warmup", meta=0.05, planning=(0.5, 1.0), decomposition=(0.5, 1.0)),
    _row(2, "warmup", meta=0.04, planning=(0.5, 1.0), decomposition=(0.5, 1.0)),
    _row(3, meta=None, planning=(0.3, 0.5), decomposition=(0.7, 1.0)),
    _row(4, meta=0.01, planning=(0.2, 0.0), decomposition=(0.6, 1.0), intuitive=(0.2, 0.5)),
]

EVAL = {
    "benchmarks": {
        "gsm8k": {"n": 100, "accuracy": 0.40, "kind": "id"},
        "csqa": {"n": 50, "accuracy": 0.60, "kind": "ood"},
        "svamp": {"n": 80, "accuracy": 0.50, "kind": "id"},
    },
    "id_mean": 0.45,
    "ood_mean": 0.60,
}
BASE = {
    "benchmarks": {
        "gsm8k": {"n": 100, "accuracy": 0.30, "kind": "id"},
        "svamp": {"n": 80, "accuracy": 0.35, "kind": "id"},
    },
    "id_mean": 0.325,
    "ood_mean": None,
}

POINTS = [
    {"x": 0.0, "y": 1.0, "perspective": "planning", "cluster": 0, "question_id": "q1"},
    {"x": 2.0, "y": 3.0, "perspective": "decomposition", "cluster": 1, "question_id": "q1"},
    {"x": 4.0, "y": 5.0, "perspective": "planning", "cluster": 1, "question_id": "q2"},
]


class TestDownsample:
    def test_short_series_kept_whole(self):
        """Nothing to drop: the caller gets every row (as a new list)."""
        rows = [1, 2, 3]
        out = plots.downsample(rows, 5)
        assert out == rows and out is not rows

    def test_keeps_ends_and_spaces_evenly(self):
        """101 steps to 11 points: every tenth step, first and last included."""
        assert plots.downsample(list(range(101)), 11) == list(range(0, 101, 10))

    def test_exact_count_without_repeats(self):
        """Uneven ratios still give max_points distinct rows, in order."""
        out = plots.downsample(list(range(1000)), 7)
        assert len(out) == 7 and out == sorted(set(out)) and out[0] == 0 and out[-1] == 999

    def test_needs_two_points(self):
        """One point cannot keep both ends."""
        with pytest.raises(ValueError, match="at least 2"):
            plots.downsample(list(range(10)), 1)


class TestLossCurves:
    def test_one_line_per_loss_term_skipping_none(self):
        """meta_loss is null at step 3, so that step is left out of its line only."""
        fig = plots.loss_curves(METRICS)
        lines = {t.name: t for t in fig.data}
        assert set(lines) == {"loss", "sft_loss", "cons_loss", "meta_loss"}
        assert list(lines["loss"].x) == [1, 2, 3, 4]
        assert list(lines["loss"].y) == pytest.approx([1.9, 1.8, 1.7, 1.6])
        assert list(lines["meta_loss"].x) == [1, 2, 4]
        assert list(lines["meta_loss"].y) == [0.05, 0.04, 0.01]

    def test_absent_term_has_no_line(self):
        """sft has no consistency or MetaNet loss: those lines must not appear."""
        rows = [
            StepRecord.from_dict({"step": s, "loss": 1.0, "sft_loss": 1.0, "cons_loss": None})
            for s in (1, 2)
        ]
        assert [t.name for t in plots.loss_curves(rows).data] == ["loss", "sft_loss"]

    def test_warmup_band_covers_warmup_steps(self):
        """The shaded band spans steps 1-2 (with half a step either side) and no more."""
        (band,) = plots.loss_curves(METRICS).layout.shapes
        assert (band.x0, band.x1) == (0.5, 2.5)

    def test_no_band_without_warmup(self):
        rows = [r for r in METRICS if r.phase != "warmup"]
        assert plots.loss_curves(rows).layout.shapes == ()


class TestWeightHeatmap:
    def test_z_is_weight_by_perspective_and_step(self):
        """Rows follow the built-in perspective order; a perspective absent at a step is a gap."""
        (heat,) = plots.weight_heatmap(METRICS).data
        assert list(heat.x) == [1, 2, 3, 4]
        assert list(heat.y) == ["intuitive", "decomposition", "planning"]
        assert [list(r) for r in heat.z] == [
            [None, None, None, 0.2],
            [0.5, 0.5, 0.7, 0.6],
            [0.5, 0.5, 0.3, 0.2],
        ]

    def test_rows_without_perspectives_are_skipped(self):
        """Baselines log no per-perspective data for some steps; they leave no column."""
        rows = [StepRecord.from_dict({"step": 0, "loss": 1.0}), *METRICS]
        assert list(plots.weight_heatmap(rows).data[0].x) == [1, 2, 3, 4]


class TestSelectedSetSize:
    def test_sum_of_selected_fractions(self):
        """Mean |I| per question = sum over perspectives of the fraction that selected it."""
        (line,) = plots.selected_set_size(METRICS).data
        assert list(line.x) == [1, 2, 3, 4]
        assert list(line.y) == [2.0, 2.0, 1.5, 1.5]


class TestEvalBars:
    def test_run_against_base(self):
        """ID benchmarks first, then OOD, then the means; base gaps stay empty."""
        run, base = plots.eval_bars(EVAL, BASE).data
        categories = ["gsm8k", "svamp", "csqa", "ID mean", "OOD mean"]
        assert (run.name, base.name) == ("this run", "base student")
        assert list(run.x) == list(base.x) == categories
        assert list(run.y) == [0.40, 0.50, 0.60, 0.45, 0.60]
        assert list(base.y) == [0.30, 0.35, None, 0.325, None]
        assert list(run.customdata) == [100, 80, 50, "", ""]

    def test_run_alone(self):
        """Without a base evaluation there is one series, and a missing mean is no bar."""
        (run,) = plots.eval_bars({**EVAL, "ood_mean": None}).data
        assert list(run.x) == ["gsm8k", "svamp", "csqa", "ID mean"]


class TestLatentMap:
    def test_colour_by_perspective_symbol_by_cluster(self):
        """One legend entry per perspective; the marker symbol and hover carry the cluster."""
        fig = plots.latent_map(POINTS, "map")
        by_name = {t.name: t for t in fig.data}
        assert list(by_name) == ["decomposition", "planning"]
        planning = by_name["planning"]
        assert list(planning.x) == [0.0, 4.0] and list(planning.y) == [1.0, 5.0]
        assert list(planning.marker.symbol) == [
            plots.CLUSTER_SYMBOLS[0],
            plots.CLUSTER_SYMBOLS[1],
        ]
        assert [list(c) for c in planning.customdata] == [["q1", 0], ["q2", 1]]
        assert fig.layout.title.text == "map"


@pytest.mark.parametrize(
    "fig",
    [
        pytest.param(lambda: plots.loss_curves(METRICS), id="loss_curves"),
        pytest.param(lambda: plots.weight_heatmap(METRICS), id="weight_heatmap"),
        pytest.param(lambda: plots.selected_set_size(METRICS), id="selected_set_size"),
        pytest.param(lambda: plots.eval_bars(EVAL, BASE), id="eval_bars"),
        pytest.param(lambda: plots.latent_map(POINTS, "Latent map"), id="latent_map"),
    ],
)
def test_every_figure_is_labelled(fig):
    """A chart on a run page must say what it shows without the surrounding text."""
    layout = fig().layout
    assert layout.title.text and layout.xaxis.title.text and layout.yaxis.title.text
    assert layout.height == 450


CURRICULUM_ROWS = [
    {"step": 1, "selected_size": 3.0, "selection_entropy": 1.1, "score_loss_rank_corr": None},
    {"step": 2, "selected_size": 2.0, "selection_entropy": 0.6, "score_loss_rank_corr": 0.5},
    {"step": 3, "selected_size": 1.0, "selection_entropy": 0.0, "score_loss_rank_corr": -1.0},
]


class TestCurriculumFigures:
    def test_selection_metrics_one_trace_each_none_skipped(self):
        fig = plots.curriculum_curves([StepRecord.from_dict(r) for r in CURRICULUM_ROWS])
        traces = {t.name: (list(t.x), list(t.y)) for t in fig.data}
        assert traces["mean |selected set|"] == ([1, 2, 3], [3.0, 2.0, 1.0])
        assert traces["Spearman(scores, -CE)"] == ([2, 3], [0.5, -1.0])
        assert fig.layout.title.text and fig.layout.xaxis.title.text

    def test_probe_ce_per_perspective_only_where_measured(self):
        rows = [
            {"step": 1, "probe_ce": {"planning": 1.2, "decomposition": 1.5}},
            {"step": 2, "probe_ce": None},
            {"step": 3, "probe_ce": {"planning": 0.9, "decomposition": 1.6}},
        ]
        fig = plots.probe_ce_curves([StepRecord.from_dict(r) for r in rows])
        traces = {t.name: (list(t.x), list(t.y)) for t in fig.data}
        assert traces == {"planning": ([1, 3], [1.2, 0.9]), "decomposition": ([1, 3], [1.5, 1.6])}
