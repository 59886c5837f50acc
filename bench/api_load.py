"""The API under load: many concurrent clients against `GET /runs` and `GET /runs/{id}`.

Seeds a fresh database with runs, serves the studio in a child process (team mode: the web
app on Postgres; `--embedded`: `mind-studio up` on SQLite with its local broker and
worker), then drives `--clients` concurrent clients for `--seconds`, each alternating a
run list and a random run's detail, then one client alone as the baseline. Prints p50/p99/max
latency as the clients saw it and inside the app (its `Server-Timing` header) and the error
count (any 5xx or transport error); exits 1 if any loaded request failed or took over
`--max-s`.

    .venv/bin/python -m bench.api_load [--clients 100] [--seconds 20] [--embedded]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert, text

from app.db import make_engine, make_sessionmaker, new_id, utcnow
from app.migrate import upgrade
from app.runs.models import Run
from app.users import service as users

SERVER = os.environ.get("MIND_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")
REDIS = os.environ.get("MIND_TEST_REDIS", "redis://127.0.0.1:6379/0")


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)  # seconds, as the client saw them
    server: list[float] = field(default_factory=list)  # seconds inside the app (Server-Timing)
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def summary(self) -> str:
        q = statistics.quantiles(self.latencies, n=100) if len(self.latencies) > 1 else [0] * 99
        worst = max(self.latencies, default=0.0)
        app = statistics.quantiles(self.server, n=100) if len(self.server) > 1 else [0] * 99
        return (
            f"requests {len(self.latencies)}, p50 {q[49] * 1000:.0f} ms, "
            f"p99 {q[98] * 1000:.0f} ms, max {worst * 1000:.0f} ms "
            f"(inside the app: p50 {app[49] * 1000:.0f} ms, p99 {app[98] * 1000:.0f} ms), "
            f"errors {sum(self.errors.values())} {self.errors or ''}"
        )


async def _client(http: httpx.AsyncClient, run_ids: list[str], until: float, load: Load) -> None:
    """One client, alternating the run list and a random run's detail until `until`."""
    while time.monotonic() < until:
        for url in ("/runs", f"/runs/{random.choice(run_ids)}"):
            start = time.perf_counter()
            try:
                response = await http.get(url)
            except httpx.TransportError as exc:
                load.error(type(exc).__name__)
                continue
            load.latencies.append(time.perf_counter() - start)
            load.server.append(server_seconds(response))
            if response.status_code >= 500:
                load.error(str(response.status_code))


def server_seconds(response: httpx.Response) -> float:
    """The app's own time for this response, from its `Server-Timing: app;dur=<ms>`."""
    for part in response.headers.get("server-timing", "").split(","):
        name, _, duration = part.strip().partition(";dur=")
        if name == "app" and duration:
            return float(duration) / 1000
    return 0.0


async def drive(api: str, token: str, run_ids: list[str], clients: int, seconds: float) -> Load:
    """`clients` concurrent clients for `seconds` against `api`, each with its own connection
    (a shared pool would queue them inside the load generator). The clients are all made
    before the clock starts: making one is milliseconds of CPU, which would count as latency."""
    load = Load()
    headers = {"Authorization": f"Bearer {token}"}
    one = httpx.Limits(max_connections=1)
    async with AsyncExitStack() as stack:
        https = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=api, headers=headers, timeout=60, limits=one)
            )
            for _ in range(clients)
        ]
        until = time.monotonic() + seconds
        await asyncio.gather(*(_client(http, run_ids, until, load) for http in https))
    return load


def seed(url: str, runs: int) -> tuple[str, list[str]]:
    """A user with a token and `runs` finished runs; returns (token, run ids)."""
    factory = make_sessionmaker(make_engine(url))
    with factory.begin() as session:
        user = users.create_user(session, f"load-{uuid.uuid4().hex[:6]}@team.test", "password1")
        _, token = users.create_token(session, user)
        owner = user.id
    ids = [new_id() for _ in range(runs)]
    rows = [
        {
            "id": run_id,
            "name": f"seed-{i}",
            "owner_id": owner,
            "status": ("succeeded", "failed", "cancelled")[i % 3],
            "method": "mind",
            "student": "smollm2-135m-instruct",
            "config": {"method": "mind", "train": {"max_steps": 10}},
            "data_hashes": {},
            "created_at": utcnow(),
            "dispatched_at": utcnow(),
        }
        for i, run_id in enumerate(ids)
    ]
    with factory.begin() as session:
        session.execute(insert(Run), rows)
    return token, ids


def wait_ready(base: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the studio at {base} did not start")


def serve(
    env: dict[str, str], command: str, port: int, log: Path | None = None
) -> subprocess.Popen:
    """`mind-studio COMMAND` in its own process group; its output to `log` if given."""
    out = log.open("wb") if log else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", command, "--port", str(port)],
        env=os.environ | env,
        stdout=out,
        stderr=out,
        start_new_session=True,
    )


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--baseline-seconds", type=float, default=5, help="1 client, after")
    parser.add_argument("--max-s", type=float, default=5.0, help="slowest acceptable request")
    parser.add_argument("--embedded", action="store_true", help="`up` on SQLite, no Postgres")
    parser.add_argument("--log", type=Path, help="write the studio's output here")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="mind-load-"))
    name = f"mind_load_{uuid.uuid4().hex[:8]}"
    admin = None
    env = {"MIND_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    if args.embedded:
        url = f"sqlite:///{home / 'studio.db'}"
    else:
        admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = f"{SERVER}/{name}"
        env |= {"MIND_DATABASE_URL": url, "MIND_BROKER_URL": REDIS, "MIND_QUEUE": name}
    port = free_port()
    server = None
    try:
        upgrade(url)
        token, ids = seed(url, args.runs)
        server = serve(env, "up" if args.embedded else "web", port, args.log)
        base = f"http://127.0.0.1:{port}"
        wait_ready(base)
        api = f"{base}/api/v1"
        load = asyncio.run(drive(api, token, ids, args.clients, args.seconds))
        mode = "embedded (SQLite)" if args.embedded else "team (Postgres)"
        print(f"{mode}: {args.clients} clients for {args.seconds:g} s: {load.summary()}")
        # The baseline, after the load so that the load meets a cold studio: one client alone.
        alone = asyncio.run(drive(api, token, ids, 1, args.baseline_seconds))
        print(f"{mode}: baseline, 1 client for {args.baseline_seconds:g} s: {alone.summary()}")
        slow = sum(t > args.max_s for t in load.latencies)
        print(f"requests over {args.max_s:g} s: {slow}")
        return 1 if slow or load.errors else 0
    finally:
        if server is not None:
            os.killpg(server.pid, 15)
            server.wait(timeout=60)
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    sys.exit(main())
