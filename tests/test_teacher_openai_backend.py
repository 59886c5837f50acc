"""The OpenAI-compatible backend against a real HTTP server on localhost."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from openai_server import ChatServer, lively_copy, model_responder

from mind.config import TeacherConfig
from mind.teacher.backend import Request, Sampling
from mind.teacher.openai_backend import OpenAIBackend, TeacherError, parse_retry_after

GREEDY = Sampling(temperature=0.0, max_tokens=8, seed=0)


@pytest.fixture(scope="module")
def tiny_responder(tiny_student: str, tmp_path_factory: pytest.TempPathFactory):
    return model_responder(lively_copy(tiny_student, tmp_path_factory.mktemp("tiny-teacher")))


def requests(n: int) -> list[Request]:
    return [
        Request(f"k{i}", [{"role": "user", "content": f"What is {i} + {i}?"}]) for i in range(n)
    ]


def backend(server: ChatServer, sampling: Sampling = GREEDY, **cfg) -> OpenAIBackend:
    config = TeacherConfig(model="tiny", base_url=server.base_url, api_key_env="MIND_TEST_KEY")
    # A short backoff keeps retry tests fast; Retry-After still wins when the server sends it.
    return OpenAIBackend(config.model_copy(update=cfg), sampling, backoff_s=0.01)


def echo(messages, body) -> str:
    return f"echo: {messages[-1]['content']} The answer is 2."


class TestGenerate:
    def test_every_request_is_answered_by_the_model(self, tiny_responder, monkeypatch):
        """Each request yields one result with its key; the server gets the exact body
        (model, messages, sampling) and the bearer key from the configured env var."""
        monkeypatch.setenv("MIND_TEST_KEY", "sk-test")
        with ChatServer(tiny_responder) as server:
            results = list(backend(server).generate(requests(3)))
        assert sorted(r.key for r in results) == ["k0", "k1", "k2"]
        assert all(r.elapsed_s > 0 and r.text.strip() for r in results)
        body = server.requests[0]
        assert body["model"] == "tiny"
        assert body["temperature"] == 0.0 and body["max_tokens"] == 8
        assert "seed" not in body  # greedy decoding ignores it
        assert server.authorizations == ["Bearer sk-test"] * 3

    def test_works_inside_a_running_event_loop(self):
        """Notebooks and Playwright's sync API already run a loop in the caller's thread.
        (The caller here is a fresh thread, so the test owns its loop.)"""
        results: list = []
        with ChatServer(echo) as server:

            async def inside() -> None:
                results.extend(backend(server).generate(requests(2)))

            caller = threading.Thread(target=asyncio.run, args=(inside(),))
            caller.start()
            caller.join(timeout=30)
        assert sorted(r.key for r in results) == ["k0", "k1"]

    def test_works_without_an_api_key(self, monkeypatch):
        """Local servers (vLLM, TGI) need no key: none is sent when the env var is unset."""
        monkeypatch.delenv("MIND_TEST_KEY", raising=False)
        with ChatServer(echo) as server:
            [result] = backend(server).generate(requests(1))
        assert result.text == "echo: What is 0 + 0? The answer is 2."
        assert server.authorizations == [None]

    def test_concurrency_is_limited(self):
        """No more than max_concurrency requests are in flight at once."""

        def slow(messages, body) -> str:
            time.sleep(0.05)
            return "The answer is 1."

        with ChatServer(slow) as server:
            assert len(list(backend(server, max_concurrency=2).generate(requests(6)))) == 6
        assert server.peak_in_flight == 2


class TestRetries:
    @pytest.mark.parametrize(
        "failures",
        [
            pytest.param([(429, "0"), (429, "0")], id="429-retry-after"),
            pytest.param([(503, None), (502, None)], id="5xx-backoff"),
        ],
    )
    def test_transient_errors_are_retried_until_success(self, failures):
        """Rate limits and server errors are retried; the request then succeeds."""
        with ChatServer(echo, fail_first=failures) as server:
            [result] = backend(server, max_retries=2).generate(requests(1))
        assert result.text.endswith("The answer is 2.")
        assert len(server.requests) == 3

    def test_retry_after_is_honoured(self):
        """The wait before retrying a 429 is the server's Retry-After, not our backoff."""
        with ChatServer(echo, fail_first=[(429, "0.3")]) as server:
            began = time.perf_counter()
            list(backend(server, max_retries=1).generate(requests(1)))
        assert time.perf_counter() - began >= 0.3

    def test_gives_up_after_max_retries_with_the_status(self):
        """When every attempt fails, the error names the last status and the body."""
        with (
            ChatServer(echo, fail_first=[(503, None)] * 3) as server,
            pytest.raises(TeacherError, match=r"HTTP 503: .*injected 503") as info,
        ):
            list(backend(server, max_retries=1).generate(requests(1)))
        assert info.value.status == 503
        assert len(server.requests) == 2

    def test_bad_request_fails_at_once_with_status_and_body(self):
        """A 400 cannot be fixed by retrying: one request, and the server's reason shown."""
        with (
            ChatServer(echo) as server,
            pytest.raises(TeacherError, match=r"HTTP 400: .*max_tokens must be at most"),
        ):
            list(backend(server, Sampling(0.0, 100_000, 0)).generate(requests(1)))
        assert len(server.requests) == 1

    def test_unreachable_server_is_reported_after_retries(self):
        """A server that drops connections is retried, then named in the error."""
        with (
            ChatServer(echo, down_after=0) as server,
            pytest.raises(TeacherError, match="cannot reach the teacher at http://127"),
        ):
            list(backend(server, max_retries=1).generate(requests(1)))


class TestParseRetryAfter:
    def test_seconds_and_http_dates(self):
        """Retry-After is either delta-seconds or an HTTP date (RFC 9110)."""
        later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
        assert parse_retry_after("2.5") == 2.5
        assert 25 < parse_retry_after(later) <= 30
        assert parse_retry_after(None) is None
        assert parse_retry_after("soon") is None
