"""Teacher over any OpenAI-compatible `/chat/completions` endpoint (OpenAI, vLLM, TGI, ...).

Requests run concurrently under a semaphore. 429, 5xx and transport errors are retried with
exponential backoff and jitter (the server's Retry-After wins when it sends one); any other
4xx fails at once with the status and body, because retrying cannot fix a bad request.

A 200 reply is read through pydantic models of the chat completion: a body that is not
JSON (an HTML sign-in page, a stream the server sends unasked), an error object, or a
completion without choices is a TeacherError naming the endpoint. The text is `content`,
or `reasoning_content` (vLLM's reasoning parser) when `content` is null; `finish_reason`
travels with the result, so the caller can refuse a reply cut off by `max_tokens`.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import threading
import time
from collections.abc import AsyncGenerator, Generator, Sequence
from datetime import UTC, datetime
from typing import TypeVar

import httpx
from pydantic import BaseModel, Field, ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from mind.config import TeacherConfig
from mind.errors import MindError
from mind.teacher.backend import Request, Result, Sampling

DEFAULT_BASE_URL = "https://api.openai.com/v1"
T = TypeVar("T")


class TeacherError(MindError, RuntimeError):
    """The teacher endpoint refused or failed a request; `retryable` marks 429/5xx."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.status is not None and (self.status == 429 or self.status >= 500)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _should_retry(exc: BaseException) -> bool:
    return isinstance(exc, httpx.TransportError) or (
        isinstance(exc, TeacherError) and exc.retryable
    )


class _RetryAfterOrBackoff:
    """tenacity wait: the server's Retry-After when given, else exponential with jitter."""

    def __init__(self, initial_s: float):
        self.backoff = wait_exponential_jitter(initial=initial_s, max=60.0, jitter=initial_s)

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TeacherError) and exc.retry_after is not None:
            return exc.retry_after
        return self.backoff(state)


def _drain(stream: AsyncGenerator[T, None]) -> Generator[T, None, None]:
    """Iterate an async generator from synchronous code, on a private event loop.

    The loop runs in its own thread, so this also works where the caller's thread already
    runs one (a notebook, Playwright's sync API).
    """

    async def step() -> T:
        return await anext(stream)

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="teacher-http", daemon=True)
    thread.start()
    try:
        while True:
            try:
                yield asyncio.run_coroutine_threadsafe(step(), loop).result()
            except StopAsyncIteration:
                return
    finally:
        asyncio.run_coroutine_threadsafe(stream.aclose(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


class OpenAIBackend:
    def __init__(self, cfg: TeacherConfig, sampling: Sampling, backoff_s: float = 1.0):
        self.cfg = cfg
        self.sampling = sampling
        self.backoff_s = backoff_s
        self.base_url = (cfg.base_url or DEFAULT_BASE_URL).rstrip("/")
        self.api_key = os.environ.get(cfg.api_key_env)  # local servers need none

    def generate(self, requests: Sequence[Request]) -> Generator[Result, None, None]:
        return _drain(self._stream(requests))

    async def _stream(self, requests: Sequence[Request]) -> AsyncGenerator[Result, None]:
        """Yield results in completion order; the first failure cancels the rest.

        Tasks push into a FIFO queue, so every result that arrived before a failure is
        yielded (and can be cached) before the failure is raised.
        """
        queue: asyncio.Queue[Result | BaseException] = asyncio.Queue()
        limit = asyncio.Semaphore(self.cfg.max_concurrency)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        async with httpx.AsyncClient(
            base_url=self.base_url, headers=headers, timeout=self.cfg.timeout_s
        ) as client:

            async def run(request: Request) -> None:
                try:
                    queue.put_nowait(await self._complete(client, limit, request))
                except Exception as exc:
                    queue.put_nowait(exc)

            tasks = [asyncio.create_task(run(r)) for r in requests]
            try:
                for _ in requests:
                    item = await queue.get()
                    if isinstance(item, BaseException):
                        raise item
                    yield item
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _complete(
        self, client: httpx.AsyncClient, limit: asyncio.Semaphore, request: Request
    ) -> Result:
        retrying = AsyncRetrying(
            retry=retry_if_exception(_should_retry),
            stop=stop_after_attempt(self.cfg.max_retries + 1),
            wait=_RetryAfterOrBackoff(self.backoff_s),
            reraise=True,
        )
        try:
            return await retrying(self._attempt, client, limit, request)
        except httpx.TransportError as exc:
            raise TeacherError(
                f"cannot reach the teacher at {self.base_url} after "
                f"{self.cfg.max_retries + 1} attempt(s): {exc!r}"
            ) from exc

    async def _attempt(
        self, client: httpx.AsyncClient, limit: asyncio.Semaphore, request: Request
    ) -> Result:
        async with limit:  # held per attempt, not while backing off
            start = time.perf_counter()
            choice = await self._post(client, request)
            return Result(
                request.key,
                choice.message.text,
                time.perf_counter() - start,
                choice.finish_reason,
            )

    async def _post(self, client: httpx.AsyncClient, request: Request) -> Choice:
        body = {"model": self.cfg.model, "messages": request.messages, **self.sampling.as_dict()}
        response = await client.post("/chat/completions", json=body)
        where = f"teacher {self.cfg.model!r} at {self.base_url}/chat/completions"
        if response.status_code != 200:
            raise TeacherError(
                f"{where} answered HTTP {response.status_code}: {response.text[:1000]}",
                status=response.status_code,
                retry_after=parse_retry_after(response.headers.get("retry-after")),
            )
        return read_reply(response, where)


class Message(BaseModel):
    content: str | None = None
    reasoning_content: str | None = None

    @property
    def text(self) -> str:
        """The answer text; a reasoning parser may leave `content` null and put it here."""
        return (
            self.content
            if self.content and self.content.strip()
            else (self.reasoning_content or "")
        )


class Choice(BaseModel):
    message: Message
    finish_reason: str | None = None


class ChatCompletion(BaseModel):
    choices: list[Choice] = Field(min_length=1)


class ErrorReply(BaseModel):
    class Detail(BaseModel):
        message: str = ""
        code: int | str | None = None

    error: Detail


def read_reply(response: httpx.Response, where: str) -> Choice:
    """The first choice of a 200 reply; TeacherError for anything that is not one."""
    try:
        payload = response.json()
    except ValueError:
        kind = response.headers.get("content-type", "no content-type")
        raise TeacherError(
            f"{where} answered 200 with a body that is not JSON ({kind}; first bytes "
            f"{response.content[:120]!r}); a chat completion is expected"
            + (
                " (the server streams; it must answer stream=false)"
                if "event-stream" in kind
                else ""
            )
        ) from None
    if isinstance(payload, dict) and "error" in payload:
        try:
            detail = ErrorReply.model_validate(payload).error
        except ValidationError:
            detail = ErrorReply.Detail(message=str(payload["error"])[:500])
        status = detail.code if isinstance(detail.code, int) else None
        raise TeacherError(f"{where} answered 200 with an error: {detail.message}", status=status)
    try:
        return ChatCompletion.model_validate(payload).choices[0]
    except ValidationError as exc:
        raise TeacherError(
            f"{where} answered 200 with no chat completion ({exc.error_count()} problem(s), "
            f"first: {exc.errors()[0]['msg']} at {'.'.join(map(str, exc.errors()[0]['loc']))}): "
            f"{str(payload)[:300]}"
        ) from None
