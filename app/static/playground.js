// The playground: one question sent to the trained and the base student at once, each
// answer streamed over server-sent events (POST, read with fetch) into its column.
"use strict";
(() => {
  const root = document.getElementById("playground");
  const form = document.getElementById("ask-form");

  function request() {
    const data = new FormData(form);
    const sampled = data.get("decoding") === "sampled";
    const body = {
      question: data.get("question"),
      temperature: sampled ? Number(data.get("temperature")) : 0,
      seed: Number(data.get("seed") || 0),
      max_new_tokens: Number(data.get("max_new_tokens")),
    };
    if (data.get("step")) body.step = Number(data.get("step"));
    return body;
  }

  function parse(block) {
    const event = { name: "message", data: "" };
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event.name = line.slice(6).trim();
      else if (line.startsWith("data:")) event.data += line.slice(5).trim();
    }
    return event;
  }

  async function ask(column, body) {
    const text = column.querySelector("[data-text]");
    const final = column.querySelector("[data-final]");
    const state = column.querySelector("[data-state]");
    text.textContent = "";
    final.textContent = "…";
    state.textContent = "thinking";
    delete column.dataset.done;
    const response = await fetch(`/runs/${root.dataset.run}/playground/${column.dataset.student}`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": root.dataset.csrf },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      const error = await response.json().catch(() => ({ error: { message: response.statusText } }));
      state.textContent = error.error.message;
      final.textContent = "–";
      column.dataset.done = "error";
      return;
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = parse(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (!event.data) continue;
        const data = JSON.parse(event.data);
        if (event.name === "token") {
          text.textContent += data.text;
          state.textContent = "writing";
        } else if (event.name === "done") {
          final.textContent = data.final_answer ?? "(none found)";
          state.textContent = `read as ${data.answer_type}`;
          column.dataset.done = "ok";
        } else if (event.name === "error") {
          state.textContent = data.message;
          column.dataset.done = "error";
        }
      }
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const body = request();
    root.querySelectorAll("[data-student]").forEach((column) => ask(column, body));
  });
})();
