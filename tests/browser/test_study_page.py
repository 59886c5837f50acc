"""A study in a real browser: submitted through the new-study form, followed until it has
succeeded, then its page draws every chart (accuracy with intervals per budget, learning
and selection curves, latent metrics) with no script error."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from tests.browser.test_studio_pages import POINTS, shot, upload
from tests.service.helpers import PERSPECTIVES, svamp_files

FIGURES = ("accuracy-steps", "accuracy-tokens", "curves", "loss", "selection", "latent")
SUBMITTED = (
    "/^\\/studies\\/[0-9a-f]{32}$/.test(location.pathname) "
    "|| document.getElementById('study-error') !== null"
)
TINY = {
    "train": {"max_seq_len": 192, "save_every": 1},
    "eval": {"curve_questions": 2},
    "mind": {"metanet_dim": 32},
    "analysis": {"probe_questions": 3, "pca_components": 4},
}


def _wait_for_study(page, timeout_s: float = 900) -> str:
    """Load the study page again until the study has ended (it also refreshes itself)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        page.goto(page.url, timeout=120_000)  # a loaded machine may take a while to render
        status = page.locator("h1 [data-status]").inner_text(timeout=120_000)
        if status not in ("running", "cancelling"):
            return status
        time.sleep(5)
    raise AssertionError(f"the study did not finish in {timeout_s}s")


def test_submit_a_study_and_read_its_charts(
    page, shared: Path, tiny_student: str, tmp_path: Path, screenshots: Path
) -> None:
    questions, rationales = svamp_files(shared, tmp_path / "data")
    qid = upload(page, questions, "questions", "study-questions")
    rid = upload(page, rationales, "rationales", "study-rationales")

    page.goto("/studies/new")
    page.fill("#study-form input[name=name]", "mind against the base")
    page.fill("input[name=student]", tiny_student)
    page.select_option("select[name=questions]", qid)
    page.select_option("select[name=rationales]", rid)
    page.fill("input[name=perspectives]", ", ".join(PERSPECTIVES))
    for box in page.locator("input[name=cells]").all():
        box.set_checked(box.get_attribute("value") == "mind")
    page.select_option(f"select[name='bench.{qid}']", "id")
    for name, value in {"bench_max": "6", "max_steps": "2", "max_questions": "6"}.items():
        page.fill(f"input[name={name}]", value)
    page.fill("input[name=max_new_tokens]", "8")
    page.fill("textarea[name=extra]", json.dumps(TINY))
    page.click("#submit-study")
    # The first study page of a fresh studio imports statsmodels: give it time.
    page.wait_for_function(SUBMITTED, timeout=120_000)
    assert page.locator("#study-error").count() == 0, page.locator("#study-error").inner_text()

    assert _wait_for_study(page) == "succeeded"
    for name in FIGURES:
        assert page.evaluate(POINTS, name) > 0, f"figure {name} has no data"
    accuracy = page.locator("[data-budget=steps] table.accuracy tbody tr").all_inner_texts()
    assert [row.split("\t")[0] for row in accuracy] == ["zero_shot", "mind"]
    assert re.search(r"\[\d+\.\d, \d+\.\d\]", accuracy[1]), accuracy
    paired = page.locator("[data-budget=steps] table.paired tbody tr").first.inner_text()
    # The benchmark is named after the questions dataset, which another browser test may have
    # uploaded first under its own name (the studio keeps one dataset per content).
    base, method, benchmark, *_ = paired.split("\t")
    assert (base, method) == ("zero_shot", "mind") and benchmark, paired
    assert "points over the base student" in page.locator("[data-budget=steps] ul").inner_text()
    assert {c for c in page.locator("#cells .badge").all_inner_texts()} == {"succeeded"}
    shot(page, screenshots, "11-study")

    page.goto("/studies")
    assert "mind against the base" in page.locator("table.studies").inner_text()
