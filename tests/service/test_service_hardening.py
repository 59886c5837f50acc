"""Bad input gets a clear 4xx, never a 500; sessions and tokens do not stand in for each
other; guessing is rate limited; sign-in timing does not tell which emails exist; the
OpenAPI document types the run config and documents every error. Real Postgres and Redis.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.main import create_app
from app.pages import auth
from app.settings import Settings
from app.users import service as users
from app.users.throttle import Throttle
from tests.service.helpers import make_user, run_config, svamp_files, upload

API = "/api/v1"


@pytest.fixture
def submit(client: TestClient, session: Session, shared: Path, tmp_path: Path, tiny_student: str):
    _, headers = make_user(session)
    questions, rationales = svamp_files(shared, tmp_path / "data")
    qid = upload(client, headers, questions, "questions")
    rid = upload(client, headers, rationales, "rationales")
    return headers, lambda: run_config(tiny_student, qid, rid)


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


class TestBadInput:
    @pytest.mark.parametrize(
        ("method", "url", "status"),
        [
            pytest.param("GET", f"{API}/runs?q=a%00b", 400, id="nul-in-query"),
            pytest.param("GET", f"{API}/runs/ab%00cd", 400, id="nul-in-path"),
            pytest.param("GET", f"{API}/runs?offset=9223372036854775808", 422, id="offset-range"),
            pytest.param("GET", f"{API}/datasets?offset=-1", 422, id="negative-offset"),
        ],
    )
    def test_address_problems_are_4xx(
        self, client: TestClient, session: Session, method: str, url: str, status: int
    ) -> None:
        _, headers = make_user(session)
        response = client.request(method, url, headers=headers)
        assert response.status_code == status, response.text
        assert response.json()["error"]["message"]

    def test_event_bounds_and_a_null_last_event_id_are_422(
        self, client: TestClient, submit
    ) -> None:
        headers, config = submit
        run_id = client.post(f"{API}/runs", headers=headers, json={"name": "r", "config": config()})
        events = f"{API}/runs/{run_id.json()['id']}/events"
        too_far = client.get(events, headers=headers, params={"after": 2**63})
        assert too_far.status_code == 422 and too_far.json()["error"]["field"] == "after"
        sse = {**headers, "Accept": "text/event-stream", "Last-Event-ID": "null"}
        null = client.get(events, headers=sse)
        assert null.status_code == 422 and null.json()["error"]["field"] == "last-event-id"

    @pytest.mark.parametrize(
        ("body", "status", "says"),
        [
            pytest.param(
                '{"name": "x", "config": {"seed": ' + _nested(40) + "}}",
                400,
                "nested deeper",
                id="nested",
            ),
            pytest.param(
                '{"name": "x", "config": ' + _nested(200_000) + "}", 400, "nested", id="very-deep"
            ),
            pytest.param('{"name": "a\\u0000b", "config": {}}', 400, "NUL", id="nul-in-string"),
            pytest.param('{"name": "x", "config": {"a\\u0000": 1}}', 400, "NUL", id="nul-in-key"),
            pytest.param(
                '{"name": "' + "x" * 2_000_000 + '", "config": {}}', 413, "over", id="too-big"
            ),
        ],
    )
    def test_hostile_json_bodies_are_refused_before_any_handler(
        self, client: TestClient, session: Session, body: str, status: int, says: str
    ) -> None:
        _, headers = make_user(session)
        response = client.post(
            f"{API}/runs",
            headers={**headers, "Content-Type": "application/json"},
            content=body.encode(),
        )
        assert response.status_code == status, response.text[:300]
        assert says in response.json()["error"]["message"]

    def test_clone_of_a_run_with_the_longest_name_fits(self, client: TestClient, submit) -> None:
        headers, config = submit
        long = client.post(
            f"{API}/runs", headers=headers, json={"name": "n" * 200, "config": config()}
        )
        clone = client.post(f"{API}/runs/{long.json()['id']}/clone", headers=headers, json={})
        assert clone.status_code == 201, clone.text
        assert len(clone.json()["name"]) == 200 and clone.json()["name"].endswith(" (clone)")

    @pytest.mark.parametrize(
        ("change", "field", "says"),
        [
            pytest.param(
                lambda c: c["eval"]["benchmarks"][0].update(name="../etc"),
                "config.eval.benchmarks.0.name",
                "must match",
                id="benchmark-name",
            ),
            pytest.param(
                lambda c: c["eval"]["benchmarks"].append(dict(c["eval"]["benchmarks"][0])),
                "config.eval.benchmarks.1.name",
                "used twice",
                id="benchmark-twice",
            ),
            pytest.param(
                lambda c: c.update(perspectives=["formal_symbolic", "analogy"]),
                "config.perspectives.1",
                "has no rationales",
                id="perspective-not-in-data",
            ),
            pytest.param(
                lambda c: c.update(
                    method="sft", train={**c["train"], "sft_perspective": "intuitive"}
                ),
                "config.train.sft_perspective",
                "intuitive",
                id="sft-perspective-not-in-data",
            ),
        ],
    )
    def test_config_that_would_fail_at_run_time_is_refused_at_submit(
        self, client: TestClient, submit, change, field: str, says: str
    ) -> None:
        headers, config = submit
        raw = config()
        change(raw)
        response = client.post(f"{API}/runs", headers=headers, json={"name": "x", "config": raw})
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["field"] == field and says in error["message"]
        assert "object at 0x" not in error["message"]


class TestSessionsAndTokens:
    def _session_token(self, session: Session) -> tuple[str, str]:
        user, headers = make_user(session)
        _, cookie = users.create_token(session, user, auth.SESSION_NAME, kind="session")
        session.commit()
        return cookie, headers["Authorization"].removeprefix("Bearer ")

    def test_a_session_cookie_is_not_a_bearer_token(
        self, client: TestClient, session: Session
    ) -> None:
        cookie, _ = self._session_token(session)
        client.cookies.set(auth.COOKIE, cookie)
        assert client.get("/account", follow_redirects=False).status_code == 200
        bearer = client.get(f"{API}/users/me", headers={"Authorization": f"Bearer {cookie}"})
        assert bearer.status_code == 401

    def test_an_api_token_is_not_a_session_cookie(
        self, client: TestClient, session: Session
    ) -> None:
        _, token = self._session_token(session)
        assert client.get(
            f"{API}/users/me", headers={"Authorization": f"Bearer {token}"}
        ).is_success
        client.cookies.set(auth.COOKIE, token)
        page = client.get("/account", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")


@pytest.fixture
def strict(settings: Settings, factory) -> TestClient:
    """The app with tight limits, so a test can exhaust them."""
    tight = settings.model_copy(
        update={"signin_failures": "3 per minute", "bad_token_attempts": "5 per minute"}
    )
    with TestClient(create_app(tight, factory)) as client:
        yield client


class TestThrottle:
    def test_invalid_bearer_tokens_are_limited_per_client(self, strict: TestClient) -> None:
        bad = {"Authorization": "Bearer mind_guess"}
        codes = [strict.get(f"{API}/users/me", headers=bad).status_code for _ in range(7)]
        assert codes == [401] * 5 + [429] * 2
        refused = strict.get(f"{API}/users/me", headers=bad)
        assert int(refused.headers["Retry-After"]) > 0
        assert refused.json()["error"]["code"] == "too_many_attempts"

    def test_sign_in_locks_out_an_email_even_for_the_right_password(
        self, strict: TestClient, session: Session
    ) -> None:
        user, _ = make_user(session)
        form = {"email": user.email, "password": "wrong-password"}
        codes = [strict.post("/login", data=form).status_code for _ in range(3)]
        right = strict.post(
            "/login", data={**form, "password": "password1"}, follow_redirects=False
        )
        assert codes == [400] * 3 and right.status_code == 429
        assert "Too many attempts" in right.text and auth.COOKIE not in right.cookies

    def test_sign_in_takes_as_long_for_an_unknown_email(
        self, session: Session, settings: Settings
    ) -> None:
        user, _ = make_user(session)
        throttle = Throttle(settings.model_copy(update={"signin_failures": "100 per minute"}))

        def median(email: str) -> float:
            times = []
            for _ in range(5):
                start = time.perf_counter()
                assert auth.sign_in(session, throttle, "timing", email, "wrong-password") is None
                times.append(time.perf_counter() - start)
            return statistics.median(times)

        known, unknown = median(user.email), median("nobody@team.test")
        assert unknown > 0.6 * known, (known, unknown)


class TestOpenApi:
    def test_every_route_has_a_summary_and_documented_errors(self, client: TestClient) -> None:
        spec = client.get("/openapi.json").json()
        error_ref = "#/components/schemas/ErrorOut"
        for path, operations in spec["paths"].items():
            for method, operation in operations.items():
                assert operation.get("summary"), (method, path)
                for status in ("400", "401", "422", "429", "500"):
                    content = operation["responses"][status]["content"]["application/json"]
                    assert content["schema"]["$ref"] == error_ref, (method, path, status)

    def test_the_run_config_is_the_typed_schema(self, client: TestClient) -> None:
        schemas = client.get("/openapi.json").json()["components"]["schemas"]
        create = schemas["RunCreate"]["properties"]["config"]
        assert create["$ref"].rsplit("/", 1)[-1].startswith("RunConfig")
        train = schemas[next(n for n in schemas if n.startswith("TrainConfig"))]
        lr = train["properties"]["lr"]
        assert lr["default"] == 2e-4 and lr["description"]
        assert schemas["RunConfig"]["additionalProperties"] is False

    def test_docs_assets_are_served_by_the_studio(self, client: TestClient) -> None:
        for page, asset in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
            html = client.get(page).text
            assert f"/static/api-docs/{asset}" in html and "cdn." not in html
            assert client.get(f"/static/api-docs/{asset}").status_code == 200


class TestHealth:
    def test_liveness_and_readiness(self, client: TestClient) -> None:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "database": "ok", "broker": "ok"}

    def test_not_ready_without_the_database(self, settings: Settings) -> None:
        down = settings.model_copy(
            update={"database_url": "postgresql+psycopg://postgres@127.0.0.1:1/none"}
        )
        with TestClient(create_app(down)) as client:
            assert client.get("/healthz").status_code == 200
            ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["database"] == "unreachable"
        assert "127.0.0.1" not in ready.text
