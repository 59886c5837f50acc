"""A real OpenAI-compatible chat server on localhost, for testing the teacher over HTTP.

`ChatServer` serves POST /v1/chat/completions from a thread, answering with a transformers
model (greedy when temperature is 0) or with a `responder` function. It counts requests on
the server side and can misbehave on purpose: answer the first requests with given error
statuses, or go down (drop every connection unanswered) after serving N requests.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

Messages = list[dict[str, str]]
Responder = Callable[[Messages, dict[str, Any]], str]

MAX_TOKENS_LIMIT = 4096  # like a real server's context limit: more is a 400


def lively_copy(model_path: str, out_dir: Path, std: float = 0.3) -> str:
    """A copy of a tiny random model with larger weights, so that its greedy output depends
    on the prompt (the default init answers every prompt with newlines)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(model_path)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() > 1:
                param.copy_(torch.randn(param.shape, generator=generator) * std)
    model.save_pretrained(out_dir)
    AutoTokenizer.from_pretrained(model_path).save_pretrained(out_dir)
    return str(out_dir)


def model_responder(model_path: str) -> Responder:
    """Chat completions by a local transformers model; one generation at a time."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path).eval()
    lock = threading.Lock()

    def respond(messages: Messages, body: dict[str, Any]) -> str:
        ids = tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_dict=True, return_tensors="pt"
        )
        temperature = float(body.get("temperature", 1.0))
        options = {"do_sample": True, "temperature": temperature} if temperature else {}
        options = options or {"do_sample": False}
        with lock, torch.inference_mode():
            out = model.generate(
                **ids,
                max_new_tokens=int(body.get("max_tokens", 16)),
                pad_token_id=tokenizer.eos_token_id,
                **options,
            )
        return tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)

    return respond


class ChatServer:
    def __init__(
        self,
        responder: Responder,
        fail_first: list[tuple[int, str | None]] | None = None,
        down_after: int | None = None,
    ):
        """`fail_first`: (status, Retry-After or None) answers for the first requests;
        `down_after`: serve that many completions, then drop every connection."""
        self.responder = responder
        self.failures = list(fail_first or [])
        self.down_after = down_after
        self.requests: list[dict[str, Any]] = []  # every request body received
        self.authorizations: list[str | None] = []
        self.completions = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _admit(
        self, body: dict[str, Any], authorization: str | None
    ) -> tuple[int, str | None] | str | None:
        """What to do with one request: an injected failure, 'drop', or None to serve it."""
        with self._lock:
            if self.down_after is not None and self.completions >= self.down_after:
                return "drop"
            self.requests.append(body)
            self.authorizations.append(authorization)
            return self.failures.pop(0) if self.failures else None

    def _complete(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return 400, _error("'messages' must be a non-empty list")
        if int(body.get("max_tokens", 16)) > MAX_TOKENS_LIMIT:
            return 400, _error(f"max_tokens must be at most {MAX_TOKENS_LIMIT}")
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            text = self.responder(body["messages"], body)
        finally:
            with self._lock:
                self.in_flight -= 1
                self.completions += 1
        return 200, {
            "id": f"chatcmpl-{self.completions}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", ""),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path != "/v1/chat/completions":
                    return self._send(404, _error(f"no route {self.path}"))
                verdict = server._admit(body, self.headers.get("Authorization"))
                if verdict == "drop":
                    self.close_connection = True  # as if the process had died
                    return None
                if verdict is not None:
                    status, retry_after = verdict
                    headers = {"Retry-After": retry_after} if retry_after is not None else {}
                    return self._send(status, _error(f"injected {status}"), headers)
                return self._send(*server._complete(body))

            def _send(
                self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _error(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error"}}
