"""An append-only JSONL cache of teacher outputs, so no rationale is ever paid for twice.

Each result is appended and flushed as it arrives; an interrupted generation therefore
resumes where it stopped. A last line cut short by a crash is ignored on reading. Only
usable replies are cached: an empty or truncated one is asked again next time (and an
empty entry left by an older version is ignored on reading).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import IO, Any

from mind.teacher.backend import Result

CACHE_FILE = "teacher_cache.jsonl"


def cache_key(teacher: str, prompt_hash: str) -> str:
    """sha256 of (teacher model, prompt hash); the prompt hash already covers sampling."""
    return hashlib.sha256(json.dumps([teacher, prompt_hash]).encode("utf-8")).hexdigest()


class TeacherCache:
    def __init__(self, directory: str | Path):
        self.path = Path(directory) / CACHE_FILE
        self.entries: dict[str, Result] = {}
        if self.path.exists():
            self.entries = dict(_read(self.path))
        self._handle: IO[str] | None = None

    def __contains__(self, key: str) -> bool:
        return key in self.entries

    def __getitem__(self, key: str) -> Result:
        return self.entries[key]

    def __len__(self) -> int:
        return len(self.entries)

    def put(self, result: Result) -> None:
        """Append a usable result; ValueError for an empty or truncated one."""
        if result.problem:
            raise ValueError(f"a {result.problem} teacher reply is never cached")
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("a", encoding="utf-8")
            if _ends_torn(self.path):
                self._handle.write("\n")  # keep the torn fragment off the next record's line
        record = {
            "key": result.key,
            "text": result.text,
            "elapsed_s": result.elapsed_s,
            "finish_reason": result.finish_reason,
        }
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._handle.flush()
        self.entries[result.key] = result

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> TeacherCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read(path: Path) -> list[tuple[str, Result]]:
    out = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                obj: Any = json.loads(line)
            except json.JSONDecodeError:
                continue  # a record torn by a crash mid-write: generate it again
            result = Result(obj["key"], obj["text"], obj["elapsed_s"], obj.get("finish_reason"))
            if not result.problem:
                out.append((result.key, result))
    return out


def _ends_torn(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(0, 2)
        if handle.tell() == 0:
            return False
        handle.seek(-1, 2)
        return handle.read(1) != b"\n"
