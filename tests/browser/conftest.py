"""Browser fixtures: the studio started as `mind-studio up` (embedded default: SQLite, local
broker, one local worker), Debian's chromium driven by Playwright, and a signed-in page that
fails its test if it asks anything of another address or logs a script error.

Screenshots go to test-artifacts/screenshots/ (gitignored) for people to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from app.cli import main as cli
from tests.service.helpers import embedded_studio

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = os.environ.get("MIND_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
EMAIL, PASSWORD = "ada@team.test", "password1"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The studio's base URL; one admin user (EMAIL, PASSWORD) exists."""
    home = tmp_path_factory.mktemp("studio-home")
    os.environ["MIND_HOME"] = str(home)
    try:
        assert cli(["migrate"]) == 0
        assert cli(["create-user", "--email", EMAIL, "--password", PASSWORD, "--admin"]) == 0
    finally:
        del os.environ["MIND_HOME"]
    # The webhook page's receiver listens on 127.0.0.1, a private target.
    with embedded_studio(home, MIND_WEBHOOK_PRIVATE_TARGETS="true") as url:
        yield url


@pytest.fixture(scope="package")  # Playwright's loop must not outlive the browser tests
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh (apt-get install chromium)")
    """Playwright launches it with a fresh temporary profile (its own --user-data-dir)."""
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


@pytest.fixture
def anonymous(browser, studio: str) -> Iterator[object]:
    """A fresh page; any request to another host or any script error fails the test."""
    context = browser.new_context(base_url=studio, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    foreign: list[str] = []
    errors: list[str] = []
    studio_host = urlsplit(studio).netloc
    page.on(
        "request", lambda r: urlsplit(r.url).netloc in ("", studio_host) or foreign.append(r.url)
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    # A refused form answers 4xx on purpose (chromium logs that as a console error), so
    # documents are left out; any script, style or JSON request that fails is an error.
    page.on("console", lambda m: _script_error(m, errors))
    page.on(
        "response",
        lambda r: (
            r.status < 400
            or r.request.resource_type == "document"
            or errors.append(f"{r.status} {r.url}")
        ),
    )
    yield page
    context.close()
    assert not foreign, f"requests outside the studio: {foreign}"
    assert not errors, f"script errors: {errors}"


def _script_error(message, errors: list[str]) -> None:
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        errors.append(message.text)


def sign_in(page, email: str = EMAIL, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button:has-text('Sign in')")


@pytest.fixture
def page(anonymous) -> object:
    sign_in(anonymous)
    anonymous.wait_for_url("**/")
    return anonymous
