"""'Test connection': one tiny chat completion, timed, with the model the server reports."""

from __future__ import annotations

import time

import httpx
from pydantic import BaseModel

from app.settings import Settings
from mind.config import TeacherConfig
from mind.teacher.openai_backend import DEFAULT_BASE_URL

PROMPT = [{"role": "user", "content": "Reply with the single word OK."}]
MAX_TOKENS = 8


class ConnectionResult(BaseModel):
    ok: bool
    latency_ms: float | None = None
    model: str | None = None
    reply: str | None = None
    error: str | None = None


def probe_openai(
    teacher: TeacherConfig, api_key: str | None, settings: Settings
) -> ConnectionResult:
    """Never raises for the endpoint's faults: they come back as `ok=False` with why."""
    url = (teacher.base_url or DEFAULT_BASE_URL).rstrip("/") + "/chat/completions"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    body = {"model": teacher.model, "messages": PROMPT, "max_tokens": MAX_TOKENS, "temperature": 0}
    began = time.perf_counter()
    try:
        answer = httpx.post(
            url, json=body, headers=headers, timeout=settings.teacher_test_timeout_s
        )
    except httpx.HTTPError as exc:
        return ConnectionResult(ok=False, error=f"cannot reach {url}: {exc!r}")
    latency = round((time.perf_counter() - began) * 1000, 1)
    if answer.status_code != 200:
        error = f"{url} answered HTTP {answer.status_code}: {answer.text[:300]}"
        return ConnectionResult(ok=False, latency_ms=latency, error=error)
    try:
        payload = answer.json()
        reply = payload["choices"][0]["message"]["content"] or ""
    except (ValueError, KeyError, IndexError, TypeError):
        error = f"{url} did not answer a chat completion: {answer.text[:300]}"
        return ConnectionResult(ok=False, latency_ms=latency, error=error)
    model = payload.get("model") or teacher.model
    return ConnectionResult(ok=True, latency_ms=latency, model=model, reply=reply[:200])
