"""Signed webhooks against a real receiver on 127.0.0.1: the API, the signature as
docs/service.md tells receivers to verify it, retries with backoff, and a run's end
(cancelled in the web process, succeeded in a real worker) delivered."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook as Verifier

from app.db import make_engine, make_sessionmaker
from app.main import create_app
from app.settings import Settings
from app.users import service as users
from app.webhooks import delivery as sender
from app.webhooks import service, targets
from app.webhooks.models import TEST_EVENT, Webhook
from tests.service.helpers import (
    REDIS,
    make_user,
    run_config,
    start_worker,
    svamp_files,
    upload,
    wait_for,
)
from tests.service.receiver import Received, receiver

API = "/api/v1"
TOLERANCE_S = 300


def verify(secret: str, got: Received) -> dict:
    """The receiver's check, exactly as docs/service.md describes it."""
    message_id = got.headers["webhook-id"]
    timestamp = got.headers["webhook-timestamp"]
    assert abs(time.time() - int(timestamp)) < TOLERANCE_S
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + got.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [s.split(",", 1)[1] for s in got.headers["webhook-signature"].split()]
    assert any(hmac.compare_digest(expected, s) for s in offered)
    Verifier(secret).verify(got.body, got.headers)  # and the Standard Webhooks library agrees
    return json.loads(got.body)


def create_hook(client: TestClient, headers: dict, url: str, events: list[str]) -> dict:
    answer = client.post(f"{API}/webhooks", headers=headers, json={"url": url, "events": events})
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test receivers listen on 127.0.0.1, a private target."""
    return settings.model_copy(update={"webhook_private_targets": True})


class TestApi:
    def test_create_list_test_and_delete(self, client: TestClient, session) -> None:
        _, headers = make_user(session)
        with receiver() as sink:
            hook = create_hook(client, headers, sink.url, ["run.succeeded", "run.failed"])
            assert hook["secret"].startswith("whsec_")
            listed = client.get(f"{API}/webhooks", headers=headers).json()
            assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]
            sent = client.post(f"{API}/webhooks/{hook['id']}/test", headers=headers).json()
            assert (sent["status"], sent["status_code"], sent["attempts"]) == ("succeeded", 200, 1)
            body = verify(hook["secret"], sink.received[0])
            assert body["type"] == "webhook.test" and body["data"]["webhook_id"] == hook["id"]
        log = client.get(f"{API}/webhooks/{hook['id']}/deliveries", headers=headers).json()
        assert [d["event"] for d in log] == ["webhook.test"]
        assert client.delete(f"{API}/webhooks/{hook['id']}", headers=headers).status_code == 204
        assert client.get(f"{API}/webhooks", headers=headers).json() == []

    def test_a_refusing_receiver_is_logged_with_its_status_code(self, client, session) -> None:
        _, headers = make_user(session)
        with receiver(answers=[503]) as sink:
            hook = create_hook(client, headers, sink.url, ["run.failed"])
            sent = client.post(f"{API}/webhooks/{hook['id']}/test", headers=headers).json()
        assert (sent["status"], sent["status_code"], sent["error"]) == ("failed", 503, "HTTP 503")

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"url": "ftp://example.test/x", "events": ["run.failed"]}, "url"),
            ({"url": "http://127.0.0.1:9/x", "events": []}, "events"),
            ({"url": "http://127.0.0.1:9/x", "events": ["run.exploded"]}, "events.0"),
        ],
    )
    def test_bad_input_names_the_field(self, client, session, body, field) -> None:
        _, headers = make_user(session)
        answer = client.post(f"{API}/webhooks", headers=headers, json=body)
        assert answer.status_code == 422 and answer.json()["error"]["field"] == field

    @pytest.mark.parametrize(
        "url",
        [
            "http://127.0.0.1:9/x",
            "http://localhost/x",
            "http://10.1.2.3/x",
            "http://169.254.169.254/x",
        ],
    )
    def test_private_targets_are_refused_unless_allowed(
        self, session, settings: Settings, factory, url: str
    ) -> None:
        _, headers = make_user(session)
        strict = settings.model_copy(update={"webhook_private_targets": False})
        with TestClient(create_app(strict, factory)) as client:
            answer = client.post(
                f"{API}/webhooks", headers=headers, json={"url": url, "events": ["run.failed"]}
            )
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        assert error["field"] == "url" and "non-public address" in error["message"]

    def test_another_users_webhook_is_not_found(self, client, session) -> None:
        _, mine = make_user(session)
        _, theirs = make_user(session)
        hook = create_hook(client, mine, "http://127.0.0.1:9/x", ["run.failed"])
        answer = client.post(f"{API}/webhooks/{hook['id']}/test", headers=theirs)
        assert answer.status_code == 404


PUBLIC = "93.184.215.14"  # a global address; the test never lets a connection reach it
REBINDING_HOST = "rebind.test"


class Rebinder:
    """A DNS-rebinding name server: `REBINDING_HOST` is public to its first lookup (the
    check) and 127.0.0.1 to every later one; other names resolve for real."""

    def __init__(self, real: Callable) -> None:
        self.real = real
        self.lookups = 0

    def __call__(self, host, *args, **kwargs):
        if host != REBINDING_HOST:
            return self.real(host, *args, **kwargs)
        self.lookups += 1
        address = PUBLIC if self.lookups == 1 else "127.0.0.1"
        return self.real(address, *args, **kwargs)


class TestPinning:
    def test_a_rebinding_name_cannot_reach_a_local_receiver(
        self, session, factory, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The address that passed the check is the one connected to: resolving the name
        again would reach the studio's own 127.0.0.1."""
        real_connect = socket.create_connection
        refused: list[tuple[str, int]] = []

        def connect(address, *args, **kwargs):
            if address[0] == PUBLIC:  # the internet, refusing, so the test sends nothing out
                refused.append(address)
                raise ConnectionRefusedError(f"{address} refused")
            return real_connect(address, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", Rebinder(socket.getaddrinfo))
        monkeypatch.setattr(socket, "create_connection", connect)
        user, _ = make_user(session)
        with receiver() as sink:
            port = int(sink.url.split(":")[2].split("/")[0])
            url = f"http://{REBINDING_HOST}:{port}/hooks/mind"
            hook = Webhook(
                owner_id=user.id, url=url, events=[TEST_EVENT], secret=service.new_secret()
            )
            session.add(hook)
            session.flush()
            sent = service.queue_test(session, hook)
            session.commit()
            policy = sender.Policy(attempts=1, backoff_s=0, max_backoff_s=0, timeout_s=5)
            assert sender.deliver(factory, sent.id, policy) is False
        session.refresh(sent)
        assert sink.received == [] and refused == [(PUBLIC, port)]
        assert sent.status == "failed" and "ConnectError" in sent.error

    def test_a_local_receiver_named_by_host_still_gets_its_host_header(
        self, client: TestClient, session
    ) -> None:
        """Private targets allowed: a delivery to `localhost` connects to its checked address
        and the receiver still sees its own name in the Host header."""
        _, headers = make_user(session)
        with receiver() as sink:
            url = sink.url.replace("127.0.0.1", "localhost")
            hook = create_hook(client, headers, url, ["run.failed"])
            sent = client.post(f"{API}/webhooks/{hook['id']}/test", headers=headers).json()
            assert (sent["status"], sent["status_code"]) == ("succeeded", 200), sent
            got = sink.received[0]
        assert got.headers["host"] == url.split("/")[2]
        assert verify(hook["secret"], got)["type"] == "webhook.test"

    def test_https_keeps_the_name_for_sni_and_the_certificate(self) -> None:
        pinned = targets.pin("https://localhost:8443/hooks?x=1", allowed=True)
        assert [str(u) for u in pinned.urls] == ["https://127.0.0.1:8443/hooks?x=1"]
        assert (pinned.host, pinned.extensions) == ("localhost:8443", {"sni_hostname": "localhost"})

    def test_a_private_address_among_public_ones_is_refused(self, monkeypatch) -> None:
        """Every resolved address is checked, not only the first."""
        real = socket.getaddrinfo
        both = real(PUBLIC, None, type=socket.SOCK_STREAM) + real("127.0.0.1", None)
        monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: both)
        with pytest.raises(targets.TargetRefused, match=r"non-public address \(127\.0\.0\.1\)"):
            targets.pin("http://mixed.test/x", allowed=False)


@pytest.fixture(scope="module")
def live(
    new_database: Callable[[], str],
    tmp_path_factory: pytest.TempPathFactory,
    shared: Path,
    tiny_student: str,
) -> Iterator[tuple[Settings, TestClient, dict, dict]]:
    """A committed database (deliveries are sent after commit), fast retry timings."""
    home = tmp_path_factory.mktemp("hooks")
    fast = {
        "MIND_WEBHOOK_BACKOFF_S": "0.2",
        "MIND_WEBHOOK_ATTEMPTS": "4",
        "MIND_WEBHOOK_PRIVATE_TARGETS": "true",  # the receivers listen on 127.0.0.1
    }
    os.environ.update(fast)
    settings = Settings(
        home=home,
        database_url=new_database(),
        broker_url=REDIS,
        queue=f"hooks-{uuid.uuid4().hex[:8]}",
        heartbeat_s=0.5,
        lost_after_s=3,
    )
    with make_sessionmaker(make_engine(settings.database_url)).begin() as session:
        user = users.create_user(session, "hooks@team.test", "password1", False)
        _, token = users.create_token(session, user)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with TestClient(create_app(settings)) as client:
            questions, rationales = svamp_files(shared, home / "data")
            qid = upload(client, headers, questions, "questions")
            rid = upload(client, headers, rationales, "rationales")
            yield settings, client, headers, run_config(tiny_student, qid, rid)
    finally:
        for name in fast:
            os.environ.pop(name)


def deliveries(client: TestClient, headers: dict, hook: dict) -> list[dict]:
    return client.get(f"{API}/webhooks/{hook['id']}/deliveries", headers=headers).json()


class TestRunEnd:
    def test_a_cancelled_run_is_delivered_signed_after_retries(self, live) -> None:
        _, client, headers, config = live
        with receiver(answers=[500, 502]) as sink:
            hook = create_hook(client, headers, sink.url, ["run.cancelled"])
            run = client.post(f"{API}/runs", headers=headers, json={"name": "c", "config": config})
            run_id = run.json()["id"]
            assert client.post(f"{API}/runs/{run_id}/cancel", headers=headers).status_code == 200
            wait_for(lambda: len(sink.received) == 3, 30, "the third attempt")
            bodies = [verify(hook["secret"], got) for got in sink.received]
        assert len({got.headers["webhook-id"] for got in sink.received}) == 1
        assert bodies[-1]["type"] == "run.cancelled"
        assert bodies[-1]["data"]["run"]["id"] == run_id
        log = wait_for(
            lambda: (d := deliveries(client, headers, hook)) and d[0]["status"] != "pending" and d,
            10,
            "the delivery log",
        )
        assert (log[0]["status"], log[0]["attempts"], log[0]["status_code"]) == (
            "succeeded",
            3,
            200,
        )

    def test_a_run_that_succeeds_on_a_worker_is_delivered(self, live) -> None:
        settings, client, headers, config = live
        worker = start_worker(settings, settings.home / "worker.log")
        try:
            with receiver() as sink:
                hook = create_hook(client, headers, sink.url, ["run.succeeded", "run.failed"])
                answer = client.post(
                    f"{API}/runs", headers=headers, json={"name": "s", "config": config}
                )
                run_id = answer.json()["id"]
                wait_for(lambda: sink.received, 240, "the run's webhook")
                body = verify(hook["secret"], sink.received[0])
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        assert body["type"] == "run.succeeded", body
        assert body["data"]["run"]["id"] == run_id
        run = client.get(f"{API}/runs/{run_id}", headers=headers).json()
        assert run["status"] == "succeeded"


class TestStudyEnd:
    def test_a_study_whose_last_run_fails_is_finished(
        self, client, session, factory, shared, tmp_path, tiny_student
    ) -> None:
        """The base run of a study fails: the study is over, `study.finished` is queued."""
        from sqlalchemy import select
        from sqlalchemy.orm import sessionmaker

        from app import hooks
        from app.runs.models import Run
        from app.webhooks.models import WebhookDelivery
        from tests.service.helpers import study_spec

        _, headers = make_user(session)
        questions, rationales = svamp_files(shared, tmp_path / "data")
        qid = upload(client, headers, questions, "questions")
        rid = upload(client, headers, rationales, "rationales")
        hook = create_hook(client, headers, "http://127.0.0.1:9/x", ["study.finished"])
        spec = study_spec(tiny_student, qid, rid)
        study = client.post(f"{API}/studies", headers=headers, json={"name": "s", "spec": spec})
        base_run = next(c["run_id"] for c in study.json()["cells"] if c["run_id"])
        bind = factory.kw["bind"]
        hooked = hooks.install(sessionmaker(bind=bind, join_transaction_mode="create_savepoint"))
        with hooked() as s:
            s.get(Run, base_run).status = "failed"
            s.flush()
            sent = s.scalars(
                select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook["id"])
            )
            (delivery,) = sent
            s.rollback()
        assert delivery.event == "study.finished"
        assert delivery.payload["data"]["study"]["status"] == "failed"
