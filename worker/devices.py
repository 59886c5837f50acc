"""What devices this worker owns, and keeping its advert fresh (`app.workers.service`).

Detected without importing torch (no CUDA context in the worker process, and a quick
start): `nvidia-smi` lists the GPUs, filtered by CUDA_VISIBLE_DEVICES as CUDA would; none
means a CPU worker with one device. `MIND_WORKER_DEVICES` and `MIND_WORKER_DEVICE_CLASS`
override either (e.g. two CPU ranks: `MIND_WORKER_DEVICES=2`).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import subprocess
import threading

from app.settings import Settings
from app.workers import service as workers
from app.workers.service import Devices
from worker.context import WorkerContext

log = logging.getLogger(__name__)


def normalise(gpu_name: str) -> str:
    """'NVIDIA H200' -> 'cuda-h200'; 'NVIDIA GeForce RTX 4090' -> 'cuda-geforce-rtx-4090'."""
    name = re.sub(r"^nvidia\s+", "", gpu_name.strip().lower())
    return "cuda-" + (re.sub(r"[^a-z0-9]+", "-", name).strip("-") or "gpu")


def _visible(rows: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """The (index, uuid, name) rows CUDA_VISIBLE_DEVICES leaves visible, in its order."""
    spec = os.environ.get("CUDA_VISIBLE_DEVICES")
    if spec is None:
        return rows
    picked = []
    for item in (s.strip() for s in spec.split(",") if s.strip()):
        match = [r for r in rows if item in (r[0], r[1]) or r[1].startswith(item)]
        if not match:
            break  # CUDA stops at the first entry it cannot resolve
        picked.append(match[0])
    return picked


def gpus() -> list[str]:
    """Names of the visible NVIDIA GPUs (empty without nvidia-smi or a driver)."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=index,uuid,name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    rows = [tuple(p.strip() for p in line.split(",", 2)) for line in out.splitlines() if line]
    return [name for _, _, name in _visible([r for r in rows if len(r) == 3])]


def detect(settings: Settings) -> Devices:
    found = gpus() if not (settings.worker_device_class and settings.worker_devices) else []
    device_class = settings.worker_device_class or (normalise(found[0]) if found else "cpu")
    return Devices(device_class, settings.worker_devices or max(len(found), 1))


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def advertise(ctx: WorkerContext, owned: Devices) -> None:
    with ctx.sessionmaker.begin() as session:
        workers.advertise(
            session, worker_name(), owned, workers.queues_of(ctx.settings.queue, owned)
        )


def keep_advertising(ctx: WorkerContext, owned: Devices) -> threading.Event:
    """Refresh the advert every `advertise_every_s` in a daemon thread; set to stop."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(ctx.settings.advertise_every_s):
            try:
                advertise(ctx, owned)
            except Exception:  # a database hiccup must not end the adverts
                log.exception("advertising this worker's devices failed")

    threading.Thread(target=loop, name="advertise", daemon=True).start()
    return stop
