"""The teacher cache: persisted per record, tolerant of a crash mid-write."""

from __future__ import annotations

from pathlib import Path

from mind.teacher.backend import Result
from mind.teacher.cache import CACHE_FILE, TeacherCache, cache_key


class TestCacheKey:
    def test_depends_on_teacher_and_prompt(self):
        """Two teachers answering one prompt, or one teacher two prompts, are two entries."""
        keys = {cache_key("gpt-4", "a" * 64), cache_key("gpt-3.5", "a" * 64)}
        keys.add(cache_key("gpt-4", "b" * 64))
        assert len(keys) == 3
        assert cache_key("gpt-4", "a" * 64) == cache_key("gpt-4", "a" * 64)


class TestTeacherCache:
    def test_results_survive_reopening(self, tmp_path: Path):
        """Each put is on disk at once, so a new process sees it (resume after a crash)."""
        with TeacherCache(tmp_path) as cache:
            cache.put(Result("k1", "The answer is 1.", 0.5))
            assert (tmp_path / CACHE_FILE).read_text().count("\n") == 1
        reopened = TeacherCache(tmp_path)
        assert "k1" in reopened and len(reopened) == 1
        assert reopened["k1"] == Result("k1", "The answer is 1.", 0.5)

    def test_torn_last_line_is_skipped_and_not_glued_to_the_next(self, tmp_path: Path):
        """A kill mid-write leaves half a line; it is dropped, and the next record must
        still start on its own line or it would be lost too."""
        with TeacherCache(tmp_path) as cache:
            cache.put(Result("k1", "one", 0.1))
        with (tmp_path / CACHE_FILE).open("a") as handle:
            handle.write('{"key": "k2", "te')
        with TeacherCache(tmp_path) as cache:
            assert len(cache) == 1
            cache.put(Result("k3", "three", 0.3))
        assert set(TeacherCache(tmp_path).entries) == {"k1", "k3"}
