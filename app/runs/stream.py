"""Server-sent events for one run: new log events as they land, then the final status.

The stream holds no session between polls (each poll is a short read, taken under the
same database slots as requests), so a slow client never pins a database connection. The
route negotiates JSON or SSE on one path, so this yields wire-format bytes itself.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import anyio
from fastapi.sse import format_sse_event
from sqlalchemy.orm import sessionmaker

from app.runs import service
from app.runs.schemas import EventOut
from app.runs.status import TERMINAL

POLL_S = 1.0


def _poll(factory: sessionmaker, run_id: str, after: int) -> tuple[list[EventOut], dict]:
    with factory() as session:
        run = service.get(session, run_id)
        rows = service.list_events(session, run_id, after, 500)
        state = {"status": run.status, "stage": run.stage, "progress": run.progress}
        return [EventOut.model_validate(e) for e in rows], state


async def run_events(
    factory: sessionmaker, slots: anyio.Semaphore, run_id: str, after: int
) -> AsyncIterator[bytes]:
    """`event: <kind>` for each log event (id = event id, for Last-Event-ID), and
    `event: state` whenever status, stage or progress change; ends once the run has."""
    last_state: dict | None = None
    while True:
        async with slots:
            events, state = await asyncio.to_thread(_poll, factory, run_id, after)
        for event in events:
            after = event.id
            yield format_sse_event(
                data_str=event.model_dump_json(), event=event.kind, id=str(event.id)
            )
        if state != last_state:
            yield format_sse_event(data_str=json.dumps(state), event="state")
            last_state = state
        if state["status"] in TERMINAL and not events:
            return
        await asyncio.sleep(POLL_S)
