"""API latency and submission throughput on Postgres + Redis, measured over real HTTP.

Seeds a fresh database with 10,000 runs and 1,000,000 metric points, serves the app with
uvicorn in a child process, then times run list, run detail and run submission.

    .venv/bin/python bench/api_latency.py [--runs 10000] [--points 1000000] [--requests 300]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from app.db import make_engine, make_sessionmaker
from app.migrate import upgrade
from app.settings import Settings
from app.users import service as users

SERVER = os.environ.get("MIND_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")
SHARED = Path(__file__).resolve().parents[2] / "shared"


def seed(url: str, runs: int, points: int, config: dict) -> None:
    """Bulk rows straight in SQL: the point is reading them back through the API."""
    engine = create_engine(url)
    with engine.begin() as conn:
        owner = conn.execute(text("SELECT id FROM users LIMIT 1")).scalar_one()
        conn.execute(
            text(
                "INSERT INTO runs (id, name, owner_id, status, progress, method, student, config,"
                " data_hashes, attempt, resume, created_at)"
                " SELECT md5(g::text), 'seed-' || g, :owner,"
                " (ARRAY['succeeded','failed','cancelled','queued'])[1 + g % 4], 1.0,"
                " (ARRAY['mind','sft','mcc'])[1 + g % 3], 'smollm2-135m-instruct',"
                " CAST(:config AS json), '{}', 1, false,"
                " now() - make_interval(secs => g) FROM generate_series(1, :n) g"
            ),
            {"owner": owner, "config": json.dumps(config), "n": runs},
        )
        conn.execute(
            text(
                "INSERT INTO metric_points (run_id, step, name, value)"
                " SELECT md5((1 + g % :runs)::text), g / (:runs * 9),"
                " (ARRAY['loss','sft_loss','cons_loss','meta_loss','lr','tokens',"
                "'tokens_per_s','tokens_total','epoch'])[1 + (g / :runs) % 9], random()"
                " FROM generate_series(0, :points - 1) g"
            ),
            {"runs": runs, "points": points},
        )
        conn.execute(text("ANALYZE"))
    engine.dispose()


def percentiles(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=100)
    return f"p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms"


def timed(call, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        response = call()
        out.append(time.perf_counter() - start)
        assert response.status_code < 300, response.text
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    name = f"mind_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{SERVER}/{name}"
    home = Path(tempfile.mkdtemp(prefix="mind-bench-"))
    settings = Settings(
        home=home, database_url=url, broker_url="redis://127.0.0.1:6379/0", queue=f"bench-{name}"
    )
    server = None
    try:
        upgrade(url)
        with make_sessionmaker(make_engine(url)).begin() as session:
            user = users.create_user(session, "bench@team.test", "password1", True)
            _, token = users.create_token(session, user)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = os.environ | settings.child_env()
        server = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "web", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        http = httpx.Client(
            base_url=f"http://127.0.0.1:{port}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        for _ in range(100):
            try:
                http.get("/models")
                break
            except httpx.TransportError:
                time.sleep(0.2)
        ids = {}
        for kind, path in (
            ("questions", SHARED / "datasets/svamp/test.jsonl"),
            ("rationales", SHARED / "teacher_rationales/svamp_test.jsonl"),
        ):
            with path.open("rb") as handle:
                ids[kind] = http.post(
                    "/datasets", data={"kind": kind}, files={"file": handle}
                ).json()["id"]
        config = {"data": ids, "train": {"max_steps": 10}}
        first = http.post("/runs", json={"name": "template", "config": config}).json()
        seed(url, args.runs, args.points, first["config"])
        total = http.get("/runs", params={"limit": 1}).json()["total"]
        run_ids = [r["id"] for r in http.get("/runs", params={"limit": 200}).json()["items"]]
        timed(lambda: http.get("/runs"), 20)  # warm-up
        listing = timed(lambda: http.get("/runs", params={"limit": 50}), args.requests)
        filtered = timed(
            lambda: http.get("/runs", params={"limit": 50, "status": "failed", "method": "mind"}),
            args.requests,
        )
        detail = timed(lambda: http.get(f"/runs/{random.choice(run_ids)}"), args.requests)
        start = time.perf_counter()
        n_submit = args.requests
        timed(lambda: http.post("/runs", json={"name": "bench", "config": config}), n_submit)
        rate = n_submit / (time.perf_counter() - start)
        with create_engine(url).connect() as conn:
            points = conn.execute(text("SELECT count(*) FROM metric_points")).scalar_one()
        print(f"runs in database: {total}, metric points: {points}")
        print(f"GET /runs?limit=50               {percentiles(listing)}")
        print(f"GET /runs?status=&method=&limit=50 {percentiles(filtered)}")
        print(f"GET /runs/{{id}}                   {percentiles(detail)}")
        print(f"POST /runs (sequential, 1 client) {rate:.1f} submissions/s")
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        import redis

        redis.Redis.from_url("redis://127.0.0.1:6379/0").delete(settings.queue)


if __name__ == "__main__":
    main()
