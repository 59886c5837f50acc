"""The playground of a finished run in chromium: one question, the trained and the base
student's answers streamed side by side, token by token; the run's portable downloads."""

from __future__ import annotations

import time
from pathlib import Path

from tests.browser.test_studio_pages import shot
from tests.service.helpers import run_config, svamp_files

QUESTION = "Tom has 3 apples and buys 4 more. How many apples does he have?"
COUNT_UPDATES = """() => {
  window.updates = {trained: 0, base: 0};
  document.querySelectorAll('[data-student]').forEach((column) => {
    new MutationObserver(() => window.updates[column.dataset.student]++)
      .observe(column.querySelector('[data-text]'),
               {childList: true, characterData: true, subtree: true});
  });
}"""
HEADER_OVERFLOW = """() => Math.max(...[...document.querySelectorAll('header.top *')]
  .map((el) => el.getBoundingClientRect().right)) - window.innerWidth"""
BOTH_DONE = "document.querySelectorAll('[data-student][data-done]').length === 2"


def api_token(page) -> str:
    page.goto("/account")
    page.fill("input[name=name]", "playground")
    page.click("button:has-text('Create token')")
    return page.locator("#new-token").inner_text()


def upload(page, headers: dict, path: Path, kind: str) -> str:
    answer = page.request.post(
        "/api/v1/datasets",
        headers=headers,
        multipart={
            "kind": kind,
            "file": {
                "name": path.name,
                "mimeType": "application/json",
                "buffer": path.read_bytes(),
            },
        },
    )
    assert answer.ok, answer.text()
    return answer.json()["id"]


def finished_run(page, shared: Path, tiny_student: str, folder: Path) -> str:
    """A tiny run submitted over the API and waited for until it succeeds."""
    headers = {"Authorization": f"Bearer {api_token(page)}"}
    questions, rationales = svamp_files(shared, folder)
    config = run_config(
        tiny_student,
        upload(page, headers, questions, "questions"),
        upload(page, headers, rationales, "rationales"),
    )
    config["eval"]["max_new_tokens"] = 16
    created = page.request.post(
        "/api/v1/runs", headers=headers, data={"name": "playground run", "config": config}
    )
    assert created.ok, created.text()
    run_id = created.json()["id"]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        run = page.request.get(f"/api/v1/runs/{run_id}", headers=headers).json()
        if run["status"] in ("succeeded", "failed", "cancelled"):
            assert run["status"] == "succeeded", run
            return run_id
        time.sleep(1)
    raise AssertionError("the run did not finish in 300 s")


class TestPlayground:
    def test_a_finished_runs_students_stream_side_by_side(
        self, page, shared: Path, tiny_student: str, tmp_path: Path, screenshots: Path
    ):
        run_id = finished_run(page, shared, tiny_student, tmp_path / "data")
        page.goto(f"/runs/{run_id}", timeout=60_000)
        for link in ("#export-adapter", "#export-merged", "#export-card"):
            assert page.locator(link).count() == 1, link
        page.click("#playground-link")
        page.wait_for_url(f"**/runs/{run_id}/playground")
        page.fill("textarea[name=question]", QUESTION)
        page.evaluate(COUNT_UPDATES)
        page.click("#ask")
        page.wait_for_function(BOTH_DONE, timeout=120_000)
        for student in ("trained", "base"):
            column = page.locator(f"[data-student={student}]")
            assert column.get_attribute("data-done") == "ok", column.inner_text()
            written = column.locator("[data-text]").evaluate("el => el.textContent.length")
            assert written > 0, "nothing was written"  # a tiny random student may write blanks
            assert column.locator("[data-final]").inner_text() not in ("…", "–")
        updates = page.evaluate("window.updates")
        assert updates["trained"] > 1 and updates["base"] > 1, updates
        shot(page, screenshots, "11-playground")

    def test_the_header_fits_a_phone_screen(self, page, screenshots: Path):
        page.set_viewport_size({"width": 360, "height": 740})
        page.goto("/")
        overflow = page.evaluate(HEADER_OVERFLOW)
        assert overflow <= 0, f"the header reaches {overflow}px past the screen's edge"
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the page is {overflow}px wider than the screen"
        shot(page, screenshots, "12-narrow-header")
