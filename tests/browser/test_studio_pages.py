"""The studio in a real browser: sign in, upload, submit a tiny run, watch it live until it
succeeds, read its figures, compare it with a clone, and see a refused upload explained."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.conftest import EMAIL
from tests.service.helpers import PERSPECTIVES, svamp_files

TERMINAL = (
    "['succeeded', 'failed', 'cancelled']"
    ".includes(document.querySelector('[data-status]').textContent)"
)
POINTS = """name => {
  const el = document.getElementById('fig-' + name);
  if (!el || !el.data) return 0;
  return el.data.reduce((n, t) => n + ((t.x && t.x.length) || 0), 0);
}"""
AXES = """name => {
  const layout = document.getElementById('fig-' + name).layout;
  return [layout.title.text, layout.xaxis.title.text, layout.yaxis.title.text];
}"""
RUN_FIGURES = ("loss", "weights", "selected", "evaluation", "latent")
TINY = {
    "train.max_steps": "3",
    "train.questions_per_batch": "2",
    "train.max_seq_len": "192",
    "train.save_every": "2",
    "mind.metanet_dim": "32",
    "data.max_questions": "4",
    "eval.max_new_tokens": "8",
    "analysis.probe_questions": "4",
    "analysis.pca_components": "4",
}


def shot(page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def upload(page, path: Path, kind: str, name: str) -> str:
    """Upload through the datasets page; answers the new dataset's id."""
    page.goto("/datasets")
    form = page.locator("#upload-form")
    form.locator("input[name=file]").set_input_files(str(path))
    form.locator("select[name=kind]").select_option(kind)
    form.locator("input[name=name]").fill(name)
    form.locator("button").click()
    page.wait_for_url(re.compile(r"/datasets/[0-9a-f]{32}$"))
    return page.url.rsplit("/", 1)[1]


def wait_until_finished(page, timeout_s: float = 240) -> str:
    page.wait_for_function(TERMINAL, timeout=timeout_s * 1000)
    status = page.locator("[data-status]").first.inner_text()
    error = page.locator("[data-error]").inner_text()
    assert status == "succeeded", f"the run ended {status}: {error}"
    return status


class TestSignIn:
    def test_wrong_password_is_refused_then_sign_in_and_out(self, anonymous, screenshots):
        """Pages need a session; a wrong password says so; signing out ends the session."""
        page = anonymous
        page.goto("/datasets")
        assert "/login?next=/datasets" in page.url
        page.fill("input[name=email]", EMAIL)
        page.fill("input[name=password]", "wrong-password")
        page.click("button:has-text('Sign in')")
        assert page.locator("[role=alert]").inner_text() == "Wrong email or password."
        shot(page, screenshots, "01-login-error")
        page.fill("input[name=password]", "password1")
        page.click("button:has-text('Sign in')")
        page.wait_for_url("**/datasets")
        assert EMAIL in page.locator("header").inner_text()
        page.click("button:has-text('Sign out')")
        page.wait_for_url("**/login")
        page.goto("/")
        assert "/login" in page.url


class TestUpload:
    def test_a_bad_file_shows_its_validation_report(self, page, tmp_path, screenshots):
        """Each bad line is listed with its line number and field; nothing is stored."""
        bad = tmp_path / "broken.jsonl"
        bad.write_text(
            '{"id": "q1", "question": "1 + 1?", "answer": "2"}\n'
            '{"id": "q2", "question": "2 + 2?"}\n'
            "{not json\n"
        )
        page.goto("/datasets")
        page.locator("#upload-form input[name=file]").set_input_files(str(bad))
        page.locator("#upload-form button").click()
        report = page.locator("#upload-error")
        assert "broken.jsonl was refused" in report.inner_text()
        rows = report.locator("tbody tr").all_inner_texts()
        assert len(rows) == 2 and rows[0].startswith("2\tanswer"), rows
        assert rows[1].startswith("3\t"), rows
        # The studio is shared by every browser test: other datasets may be listed.
        assert "broken" not in page.locator("table").last.inner_text()
        shot(page, screenshots, "02-datasets-upload-error")


class TestRunJourney:
    def test_submit_watch_live_clone_and_compare(
        self, page, shared: Path, tiny_student: str, tmp_path: Path, screenshots: Path
    ):
        questions, rationales = svamp_files(shared, tmp_path / "data")
        qid = upload(page, questions, "questions", "svamp-mini")
        shot(page, screenshots, "03-dataset-detail")
        rid = upload(page, rationales, "rationales", "svamp-rationales")

        page.goto("/runs/new")
        page.fill("#run-form input[name=name]", "tiny mind")
        page.fill("input[name=student]", tiny_student)
        page.select_option("select[name=questions]", qid)
        page.select_option("select[name=rationales]", rid)
        for perspective in PERSPECTIVES:
            page.check(f"input[name=perspectives][value='{perspective}']")
        page.select_option(f"select[name='bench.{qid}']", "id")
        page.fill("input[name=bench_max]", "2")
        page.locator("details.params").evaluate_all("els => els.forEach(e => e.open = true)")
        for key, value in TINY.items():
            page.fill(f"[name='{key}']", value)
        page.click("#check-run")
        preflight = page.locator("#preflight")
        assert "questions kept" in preflight.inner_text()
        assert "tokens per epoch" in preflight.inner_text()
        shot(page, screenshots, "04-new-run-preflight")
        page.click("#submit-run")
        page.wait_for_url(re.compile(r"/runs/[0-9a-f]{32}$"))
        first = page.url.rsplit("/", 1)[1]

        # Live: the page survives a reload mid-run, then updates without another one.
        page.wait_for_function("document.querySelector('[data-status]').textContent !== 'queued'")
        page.reload()
        shot(page, screenshots, "05-run-live")
        page.evaluate("window.notReloaded = true")
        wait_until_finished(page)
        page.wait_for_selector("#run[data-done]")
        assert page.evaluate("window.notReloaded") is True
        for name in RUN_FIGURES:
            assert page.evaluate(POINTS, name) > 0, f"figure {name} has no data"
        assert page.evaluate(AXES, "loss") == ["Training losses", "optimizer step", "loss"]
        assert len(page.locator("#log li").all()) > 5
        assert page.locator("[data-panel=files] a[download]").count() >= 1
        assert page.locator("#cancel-run").count() == 0
        finished = page.locator("[data-panel=facts] dt:has-text('Finished') + dd").inner_text()
        assert not finished.startswith("–"), finished
        shot(page, screenshots, "06-run-succeeded")

        page.click("[data-panel=evaluation] a:has-text('trained')")
        page.wait_for_url("**/predictions/**")
        assert page.locator("table.predictions tbody tr").count() == 2
        shot(page, screenshots, "07-predictions")

        page.goto(f"/runs/new?clone={first}")
        assert page.input_value("input[name='train.max_steps']") == "3"
        page.fill("#run-form input[name=name]", "tiny mind, lr 1e-3")
        page.fill("input[name='train.lr']", "0.001")
        page.click("#check-run")
        page.click("#submit-run")
        page.wait_for_url(re.compile(r"/runs/[0-9a-f]{32}$"))
        second = page.url.rsplit("/", 1)[1]
        wait_until_finished(page)

        page.goto("/")
        shot(page, screenshots, "08-runs-list")
        for row in page.locator("table.runs tbody input[name=ids]").all():
            row.check()
        page.click("#compare-button")
        page.wait_for_url("**/runs/compare?**")
        for name in ("loss", "weights", "evaluation"):
            assert page.evaluate(POINTS, name) > 0, f"compare figure {name} has no data"
        diff = page.locator("#config-diff").inner_text()
        assert "train.lr" in diff and "0.001" in diff
        assert "train.max_steps" not in diff
        shot(page, screenshots, "09-compare")

        page.goto(f"/runs/compare?ids={first},{second}")
        assert page.locator("#config-diff tbody").inner_text().startswith("train.lr\t0.0002\t0.001")
        page.goto(f"/datasets/{qid}")
        assert "tiny mind" in page.locator("section", has_text="Runs that used it").inner_text()


@pytest.mark.usefixtures("studio")
class TestAccount:
    def test_create_and_revoke_an_api_token(self, page, screenshots):
        """A new token is shown once and works on the API; revoking it marks it revoked."""
        page.goto("/account")
        page.fill("input[name=name]", "ci")
        page.click("button:has-text('Create token')")
        token = page.locator("#new-token").inner_text()
        assert token.startswith("mind_")
        answer = page.request.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert answer.json()["email"] == EMAIL
        shot(page, screenshots, "10-account")
        page.click("tr:has-text('ci') button:has-text('Revoke')")
        assert "revoked" in page.locator("tr", has_text="ci").first.inner_text()


class TestMappingStep:
    def test_preview_maps_unknown_columns_then_uploads(self, page, tmp_path, screenshots):
        """Unknown columns: the preview lists the errors; picking the columns previews the
        records as they will be stored; Upload stores them with that mapping."""
        odd = tmp_path / "odd-columns.jsonl"
        odd.write_text(
            '{"ask": "1 + 1?", "gold_value": "2"}\n{"ask": "2 + 3?", "gold_value": "5"}\n'
        )
        page.goto("/datasets")
        page.locator("#upload-form input[name=file]").set_input_files(str(odd))
        page.locator("#preview-upload").click()
        panel = page.locator("#upload-preview")
        panel.locator("[role=alert]").wait_for()
        assert "2 error(s)" in panel.inner_text()
        panel.locator("select[data-role=question]").select_option("ask")
        panel.locator("select[data-role=answer]").select_option("gold_value")
        panel.locator("#preview-rows").wait_for()
        assert "2 records ready to store" in panel.inner_text()
        assert "1 + 1?" in panel.locator("#preview-rows").inner_text()
        shot(page, screenshots, "09-datasets-mapping-step")
        page.locator("#upload-form button").click()
        page.wait_for_url(re.compile(r"/datasets/[0-9a-f]{32}$"))
        assert "gold_value" not in page.content() and "1 + 1?" in page.content()
