"""How the core tells the outside world what it is doing.

The trainer and pipeline only talk to a `Reporter`; the CLI uses `FileReporter` (JSONL
files and a progress bar), the studio's worker a database-backed one.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any, Protocol

from tqdm import tqdm


class Reporter(Protocol):
    def event(self, kind: str, message: str, **data: Any) -> None: ...

    def progress(self, stage: str, fraction: float) -> None: ...

    def log_step(self, record: dict[str, Any]) -> None:
        """One optimizer step: scalar metrics plus `perspectives` {id: score/weight/...}."""

    def artifact(self, name: str, path: Path) -> None: ...

    def result(self, kind: str, data: dict[str, Any]) -> None: ...

    def should_stop(self) -> bool: ...


class NullReporter:
    """Reports nothing and never asks to stop (tests, library use)."""

    def event(self, kind: str, message: str, **data: Any) -> None:
        pass

    def progress(self, stage: str, fraction: float) -> None:
        pass

    def log_step(self, record: dict[str, Any]) -> None:
        pass

    def artifact(self, name: str, path: Path) -> None:
        pass

    def result(self, kind: str, data: dict[str, Any]) -> None:
        pass

    def should_stop(self) -> bool:
        return False


def _append(path: Path, obj: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(obj) + "\n")


def truncate_metrics(path: Path, last_step: int) -> None:
    """Drop metric lines after `last_step`, so a resumed run does not log a step twice."""
    if not path.exists():
        return
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows if r["step"] <= last_step))


class FileReporter:
    """Writes metrics.jsonl and events.jsonl in the run directory, shows a progress bar.

    Ctrl-C (SIGINT) or a file named STOP in the directory asks training to checkpoint and
    stop cleanly.
    """

    def __init__(self, out_dir: Path, show_progress: bool = True):
        self.out_dir = out_dir
        self.stop_requested = False
        self.bar: tqdm | None = None
        self.show_progress = show_progress
        self._stage = ""
        signal.signal(signal.SIGINT, self._on_sigint)

    def _on_sigint(self, *_: Any) -> None:
        self.stop_requested = True

    def event(self, kind: str, message: str, **data: Any) -> None:
        _append(
            self.out_dir / "events.jsonl",
            {"time": time.time(), "kind": kind, "message": message, **data},
        )
        if kind in {"warning", "error"}:
            tqdm.write(f"{kind}: {message}")

    def progress(self, stage: str, fraction: float) -> None:
        if not self.show_progress:
            return
        if stage != self._stage:
            if self.bar is not None:
                self.bar.close()
            self.bar = tqdm(total=1000, desc=stage, unit="‰", leave=True)
            self._stage = stage
        assert self.bar is not None
        self.bar.update(int(fraction * 1000) - self.bar.n)

    def log_step(self, record: dict[str, Any]) -> None:
        _append(self.out_dir / "metrics.jsonl", record)
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{record['loss']:.3f}", refresh=False)

    def artifact(self, name: str, path: Path) -> None:
        self.event("artifact", f"wrote {name}", name=name, path=str(path))

    def result(self, kind: str, data: dict[str, Any]) -> None:
        self.event("result", f"{kind} result", result=kind)

    def should_stop(self) -> bool:
        return self.stop_requested or (self.out_dir / "STOP").exists()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
