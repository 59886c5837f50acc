"""Run timing and queue places, stamped by the session hooks on every status change: the
queue is not counted as running time, and a queued run knows its place."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from app import hooks
from app.db import utcnow
from app.progress.queue import queue_place
from app.progress.timing import elapsed_s
from app.runs.models import Run
from tests.service.helpers import make_user


@pytest.fixture
def hooked(factory: sessionmaker) -> Session:
    with hooks.install(
        sessionmaker(bind=factory.kw["bind"], join_transaction_mode="create_savepoint")
    )() as s:
        yield s


def queued_run(session: Session, owner_id: str, name: str) -> Run:
    run = Run(name=name, owner_id=owner_id, method="mind", student="s", config={}, status="queued")
    session.add(run)
    session.commit()
    return run


class TestTiming:
    def test_queueing_is_not_running_time(self, hooked: Session) -> None:
        user, _ = make_user(hooked)
        run = queued_run(hooked, user.id, "a")
        assert run.queued_at is not None and elapsed_s(run) == 0.0
        run.status = "running"
        hooked.commit()
        assert run.attempt_started_at is not None
        run.attempt_started_at -= timedelta(seconds=30)  # it ran 30 s
        run.status = "cancelled"
        hooked.commit()
        assert run.attempt_started_at is None
        assert elapsed_s(run) == pytest.approx(30, abs=2)
        run.queued_at = utcnow()
        run.status = "queued"  # resumed: waits again, uncounted
        hooked.commit()
        assert elapsed_s(run) == pytest.approx(30, abs=2)
        run.status = "running"
        hooked.commit()
        run.attempt_started_at -= timedelta(seconds=10)
        run.status = "succeeded"
        hooked.commit()
        assert elapsed_s(run) == pytest.approx(40, abs=2)


class TestQueuePlace:
    def test_places_follow_the_queue_order(self, hooked: Session) -> None:
        user, _ = make_user(hooked)
        runs = [queued_run(hooked, user.id, name) for name in "abc"]
        base = {r.id: queue_place(hooked, r) for r in runs}
        first = min(base.values())
        assert [base[r.id] - first for r in runs] == [0, 1, 2]
        runs[0].status = "running"
        hooked.commit()
        assert queue_place(hooked, runs[0]) is None
        assert queue_place(hooked, runs[1]) == base[runs[1].id] - 1

    def test_the_api_answers_place_and_elapsed(self, client, session, factory) -> None:
        user, headers = make_user(session)
        run = Run(
            name="q", owner_id=user.id, method="mind", student="s", config={}, status="queued"
        )
        run.queued_at = utcnow()
        session.add(run)
        session.commit()
        body = client.get(f"/api/v1/runs/{run.id}", headers=headers).json()
        assert body["queue_position"] >= 1 and body["elapsed_s"] == 0.0


def _run_queries(connection, call) -> tuple[int, object]:
    """How many queries of the runs table `call()` sends over the test's connection (auth's
    own bookkeeping left out), and its answer."""
    sent: list[str] = []

    def count(*args) -> None:
        if "FROM runs" in args[2]:
            sent.append(args[2])

    event.listen(connection, "before_cursor_execute", count)
    try:
        answer = call()
    finally:
        event.remove(connection, "before_cursor_execute", count)
    return len(sent), answer


class TestListedPlaces:
    def test_the_list_gives_each_queued_run_its_place_in_one_query(
        self, client, session, connection
    ) -> None:
        """GET /runs answers the place GET /runs/{id} does, and listing more queued runs
        costs no more queries (no query per run)."""
        user, headers = make_user(session)

        def listing() -> dict:
            return client.get("/api/v1/runs", headers=headers, params={"limit": 50}).json()

        for name in "ab":
            _queued_now(session, user.id, name)
        few, _ = _run_queries(connection, listing)
        runs = [_queued_now(session, user.id, name) for name in "cde"]
        runs[0].status = "running"
        session.commit()
        many, page = _run_queries(connection, listing)
        assert many == few
        listed = {item["id"]: item["queue_position"] for item in page["items"]}
        assert listed[runs[0].id] is None
        for run_id, place in listed.items():
            alone = client.get(f"/api/v1/runs/{run_id}", headers=headers).json()
            assert place == alone["queue_position"]
        assert sorted(p for p in listed.values() if p is not None)[-1] >= 4


def _queued_now(session: Session, owner_id: str, name: str) -> Run:
    run = Run(name=name, owner_id=owner_id, method="mind", student="s", config={}, status="queued")
    run.queued_at = utcnow()
    session.add(run)
    session.commit()
    return run


class TestEventLog:
    def test_paths_under_storage_are_logged_relative(self, hooked, factory, settings) -> None:
        from sqlalchemy import select

        from app.runs.models import RunEvent
        from worker.reporter import DbReporter

        user, _ = make_user(hooked)
        run = queued_run(hooked, user.id, "log")
        reporter = DbReporter(factory, settings.storage, run, settings.storage / run.directory)
        file = settings.storage / run.directory / "rationales.jsonl"
        reporter.event("info", f"using {file}", path=str(file))
        event = hooked.scalars(select(RunEvent).where(RunEvent.run_id == run.id)).one()
        assert str(settings.storage) not in event.message + json.dumps(event.data)
        assert event.data["path"] == f"{run.directory}/rationales.jsonl"
