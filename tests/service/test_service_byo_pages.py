"""The Models, Teachers and format-guide pages render for a signed-in user; a secret set on
the Teachers page is listed by name, never by value."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.pages import auth
from app.settings import Settings
from app.users import service as users


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"secret_key": Fernet.generate_key().decode()})


@pytest.fixture
def browser(client: TestClient, session: Session) -> TestClient:
    user = users.create_user(session, "pages@team.test", "password1")
    _, token = users.create_token(session, user, auth.SESSION_NAME, kind="session")
    session.commit()
    client.cookies.set(auth.COOKIE, token)
    return client


def test_models_page_lists_the_bundled_student(browser: TestClient) -> None:
    page = browser.get("/models")
    assert page.status_code == 200
    assert "smollm2-135m-instruct" in page.text and "134.5 M" in page.text
    assert 'name="path"' not in page.text  # local folders: admins only


def test_format_guide_offers_examples_the_upload_accepts(browser: TestClient) -> None:
    page = browser.get("/formats")
    assert page.status_code == 200 and "/formats/alpaca.jsonl" in page.text
    example = browser.get("/formats/alpaca.jsonl")
    assert example.headers["content-disposition"].startswith("attachment")
    assert "instruction" in json.loads(example.text.splitlines()[0])
    assert browser.get("/formats/../secret.key").status_code == 404


def test_a_secret_set_on_the_teachers_page_is_never_shown(browser: TestClient) -> None:
    page = browser.get("/teachers")
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    saved = browser.post(
        "/teachers/secrets",
        data={"csrf": csrf, "name": "openai-key", "value": "sk-never-shown"},
        follow_redirects=True,
    )
    assert saved.status_code == 200
    assert "openai-key" in saved.text and "sk-never-shown" not in saved.text
