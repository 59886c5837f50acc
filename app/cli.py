"""`mind-studio`: start the studio (embedded or team mode) and manage users and tokens.

Every command reads the same `MIND_*` settings as the app; see docs/service.md.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from types import FrameType

from app.settings import Settings

WORKER_STOP_S = 10.0  # warm shutdown of `up`'s worker, then SIGKILL (the reconciler resumes)


def _migrate(settings: Settings, _: argparse.Namespace) -> int:
    from app.migrate import upgrade

    upgrade(settings.database_url)
    return 0


def _web(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from app.main import create_app

    settings.storage.mkdir(parents=True, exist_ok=True)
    port = args.port or settings.port
    uvicorn.run(create_app(settings), host=args.host, port=port, log_level="info")
    return 0


def _worker(settings: Settings, _: argparse.Namespace) -> int:
    from worker.celery_app import run_worker

    run_worker(settings)
    return 0


def _up(settings: Settings, args: argparse.Namespace) -> int:
    """Embedded default: migrate, then one local worker process beside the web server.
    SIGTERM (like Ctrl-C) stops both: uvicorn re-raises the signal once it has shut down,
    and the handler turns it into SystemExit so the worker is stopped on the way out."""
    signal.signal(signal.SIGTERM, _exit_on_signal)
    _migrate(settings, args)
    worker = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"], env=os.environ | settings.child_env()
    )
    try:
        return _web(settings, args)
    finally:
        _stop(worker)


def _exit_on_signal(signum: int, _: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _stop(worker: subprocess.Popen) -> None:
    """Warm shutdown first; a run still going after WORKER_STOP_S is killed with its
    worker (its child dies with it) and resumed by the reconciler on the next start."""
    worker.terminate()
    try:
        worker.wait(timeout=WORKER_STOP_S)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def _create_user(settings: Settings, args: argparse.Namespace) -> int:
    from app.users import service

    with _session(settings) as session:
        user = service.create_user(session, args.email, args.password, args.admin)
        print(f"created {'admin' if user.is_admin else 'user'} {user.email} ({user.id})")
    return 0


def _create_token(settings: Settings, args: argparse.Namespace) -> int:
    from app.users import service

    with _session(settings) as session:
        user = service.get_by_email(session, args.email)
        _, token = service.create_token(session, user, args.name)
    print(f"token for {user.email} (shown once, stored hashed):")
    print(token)
    return 0


def _session(settings: Settings):
    from app.db import make_engine, make_sessionmaker

    return make_sessionmaker(make_engine(settings.database_url)).begin()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mind-studio", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    commands: dict[str, tuple[Callable, str]] = {
        "up": (_up, "migrate, start one local worker and the web app (embedded default)"),
        "web": (_web, "serve the web app and REST API"),
        "worker": (_worker, "run a Celery worker (one run at a time)"),
        "migrate": (_migrate, "upgrade the database to the latest schema"),
        "create-user": (_create_user, "add a user (the first one with --admin)"),
        "create-token": (_create_token, "issue an API token; printed alone on the last line"),
    }
    for name, (func, help_text) in commands.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        cmd.set_defaults(func=func)
        if name in ("up", "web"):
            cmd.add_argument("--host", default="127.0.0.1")
            cmd.add_argument("--port", type=int, default=None, help="default: MIND_PORT, 8000")
        if name in ("create-user", "create-token"):
            cmd.add_argument("--email", required=True)
        if name == "create-user":
            cmd.add_argument("--password", required=True)
            cmd.add_argument("--admin", action="store_true")
        if name == "create-token":
            cmd.add_argument("--name", default="cli")
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    from app.errors import StudioError

    try:
        return int(args.func(Settings(), args) or 0)
    except StudioError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
