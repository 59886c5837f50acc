"""The API reference reads offline: /docs (Swagger UI) and /redoc render in chromium with
every request to another host blocked, from assets the studio serves itself."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest


@pytest.fixture
def offline(anonymous, studio: str) -> object:
    """The anonymous page (which fails on foreign requests), with them aborted too."""
    host = urlsplit(studio).netloc

    def only_studio(route) -> None:
        if urlsplit(route.request.url).netloc in ("", host):
            route.continue_()
        else:
            route.abort()

    anonymous.route("**/*", only_studio)
    return anonymous


def test_swagger_ui_renders_every_operation_offline(offline, screenshots: Path) -> None:
    offline.goto("/docs")
    offline.wait_for_selector(".opblock-summary")
    summaries = offline.locator(".opblock-summary-description").all_inner_texts()
    assert "Submit a run" in summaries and len(summaries) >= 20
    offline.get_by_text("Submit a run").first.click()
    offline.wait_for_selector(".opblock-body")
    assert offline.get_by_text("ErrorOut").count() > 0 or "429" in offline.content()
    offline.screenshot(path=str(screenshots / "api-docs-swagger.png"))


def test_redoc_renders_the_typed_run_config_offline(offline, screenshots: Path) -> None:
    offline.goto("/redoc")
    offline.wait_for_selector("text=Submit a run")
    offline.get_by_text("Submit a run").first.click()
    offline.wait_for_selector("text=RunConfig")
    offline.screenshot(path=str(screenshots / "api-docs-redoc.png"))
