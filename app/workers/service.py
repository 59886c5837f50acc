"""Device adverts and run routing: which Celery queue a run goes to, or why none fits.

Queues, for the shared queue `Q` (`Settings.queue`): a worker of device class `C` owning
`N` devices consumes `Q` (downloads, teacher jobs, and runs any worker can take) and
`Q.C.1` ... `Q.C.N`; a run that needs `n` devices of class `C` goes to `Q.C.n`, which only
workers of that class owning at least `n` devices read. So a run never lands on a worker
too small for it, and one worker serves runs of every size it can hold.

Routing (`route`): the offered classes are the live adverts (younger than
`worker_stale_s`) and the classes `Settings.fleet` declares. A one-device run that every
offered class can take (its `train.device` is `auto`, or matches them all) goes to `Q`, the
most workers; so does a one-device run when nothing is offered yet (embedded mode before
its worker's first advert, or a worker of an older version). Otherwise the run goes to the
class with the fewest devices that still fits (leaving the large machines to large runs),
or is refused naming `train.devices` (or `train.device` when no class is of its kind).

The routing inputs live on the session factory (`install`), as the task outbox does on
the session: runs are queued from the API, the pages, studies and the reconciler alike,
and none of them has to carry the settings for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db import utcnow
from app.settings import Settings
from app.workers.models import Worker

ROUTING = "run_routing"
FORGET_AFTER = timedelta(days=1)  # adverts of workers gone this long are deleted


@dataclass(frozen=True)
class Devices:
    """What a worker owns: `count` devices of class `device_class` (`cpu`, `cuda-h200`)."""

    device_class: str
    count: int


@dataclass(frozen=True)
class Routing:
    queue: str  # the shared queue `Q`
    fleet: dict[str, int]
    stale_s: float


class NoCapacity(ValueError):
    """No offered worker can take the run; `key` is the config field to change."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key, self.message = key, message


def install(factory: sessionmaker, settings: Settings) -> sessionmaker:
    """Give the sessions of `factory` the routing inputs of `settings`."""
    routing = Routing(settings.queue, dict(settings.fleet), settings.worker_stale_s)
    factory.configure(info={**factory.kw.get("info", {}), ROUTING: routing})
    return factory


def run_queue(queue: str, device_class: str, devices: int) -> str:
    return f"{queue}.{device_class}.{devices}"


def queues_of(queue: str, owned: Devices) -> list[str]:
    """The queues a worker owning `owned` consumes, the shared one first."""
    return [queue] + [run_queue(queue, owned.device_class, n) for n in range(1, owned.count + 1)]


def advertise(session: Session, name: str, owned: Devices, queues: list[str]) -> None:
    """Insert or refresh this worker's advert; forget workers gone for a day."""
    now = utcnow()
    worker = session.get(Worker, name, with_for_update=True)
    if worker is None:
        worker = Worker(name=name, started_at=now)
        session.add(worker)
    worker.device_class, worker.devices, worker.queues = owned.device_class, owned.count, queues
    worker.last_seen = now
    session.execute(delete(Worker).where(Worker.last_seen < now - FORGET_AFTER))


def offers(session: Session, routing: Routing) -> dict[str, int]:
    """{device class: most devices one worker of it owns}, live adverts and the fleet."""
    since = utcnow() - timedelta(seconds=routing.stale_s)
    rows = session.execute(
        select(Worker.device_class, func.max(Worker.devices))
        .where(Worker.last_seen >= since)
        .group_by(Worker.device_class)
    )
    offered = dict(routing.fleet)
    for device_class, devices in rows:
        offered[device_class] = max(devices, offered.get(device_class, 0))
    return offered


def of_kind(device: str, device_class: str) -> bool:
    """Whether `train.device` can run on a device class (`auto` runs on any)."""
    if device == "cpu":
        return device_class == "cpu"
    if device.startswith("cuda"):
        return device_class.startswith("cuda")
    return True


def _plural(n: int) -> str:
    return f"{n} device" + ("" if n == 1 else "s")


def route(session: Session, devices: int, device: str) -> str | None:
    """The queue of a run needing `devices` of `device`; None (the shared queue) when the
    sessions carry no routing. Raises NoCapacity naming the field when nothing fits."""
    routing: Routing | None = session.info.get(ROUTING)
    if routing is None:
        return None
    offered = offers(session, routing)
    if not offered:
        if devices == 1:
            return routing.queue
        raise NoCapacity(
            "train.devices",
            f"train.devices is {devices} but no worker has advertised its devices yet "
            "(start one, or declare the fleet with MIND_FLEET)",
        )
    kind = {c: n for c, n in offered.items() if of_kind(device, c)}
    if devices == 1 and len(kind) == len(offered):
        return routing.queue
    if not kind:
        raise NoCapacity(
            "train.device",
            f"train.device is {device} but the workers advertise only {sorted(offered)}",
        )
    fitting = sorted((n, c) for c, n in kind.items() if n >= devices)
    if not fitting:
        most, largest = max((n, c) for c, n in kind.items())
        raise NoCapacity(
            "train.devices",
            f"train.devices is {devices} but the largest worker advertises "
            f"{_plural(most)} ({largest})",
        )
    return run_queue(routing.queue, fitting[0][1], devices)


def route_config(session: Session, config: dict[str, Any]) -> str | None:
    """`route` for a frozen run config (its `train.devices` and `train.device`)."""
    train = config.get("train", {})
    return route(session, int(train.get("devices", 1)), str(train.get("device", "auto")))
