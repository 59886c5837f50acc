// Draws the page's Plotly figures and, on a live run page, keeps it current:
// an EventSource on the run's stream updates status, progress and the log, and the
// figures and result panels are re-fetched (at most every REFRESH_MS) as they change.
"use strict";
(() => {
  const REFRESH_MS = 3000;
  const TERMINAL = ["succeeded", "failed", "cancelled"];
  const CONFIG = { responsive: true, displaylogo: false };

  function draw(figures) {
    document.querySelectorAll("[data-figure]").forEach((el) => {
      const fig = figures[el.dataset.figure];
      if (!fig) {
        if (!el.classList.contains("drawn")) {
          el.textContent = el.dataset.empty || "No data yet.";
          el.classList.add("empty");
        }
        return;
      }
      if (el.classList.contains("empty")) {
        el.textContent = "";
        el.classList.remove("empty");
      }
      el.classList.add("drawn");
      Plotly.react(el, fig.data, fig.layout, CONFIG);
    });
  }

  const embedded = document.getElementById("figures");
  if (embedded) draw(JSON.parse(embedded.textContent));

  const root = document.querySelector("[data-run][data-live]");
  if (!root) return;
  const runId = root.dataset.run;

  function showState(state) {
    const badge = root.querySelector("[data-status]");
    badge.textContent = state.status;
    badge.className = "badge s-" + state.status;
    root.querySelector("[data-stage]").textContent = (state.stage || state.status).replace("_", " ");
    const pct = Math.round((state.progress || 0) * 100);
    root.querySelector("[data-percent]").textContent = pct + "%";
    root.querySelector("[data-progress]").style.width = pct + "%";
    if (state.error !== undefined) {
      const error = root.querySelector("[data-error]");
      error.textContent = state.error || "";
      error.hidden = !state.error;
    }
  }

  function appendLog(event) {
    const item = document.createElement("li");
    item.className = "k-" + event.kind;
    const time = document.createElement("time");
    time.textContent = new Date(event.created_at).toISOString().slice(11, 19);
    const kind = document.createElement("span");
    kind.className = "kind";
    kind.textContent = event.kind;
    item.append(time, kind, event.message);
    const log = document.getElementById("log");
    const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.append(item);
    if (atEnd) log.scrollTop = log.scrollHeight;
  }

  let lastRefresh = 0;
  let timer = null;
  async function refresh() {
    timer = null;
    lastRefresh = Date.now();
    const response = await fetch(`/runs/${runId}/figures.json`, { credentials: "same-origin" });
    if (!response.ok) return;
    const body = await response.json();
    draw(body.figures);
    for (const [name, html] of Object.entries(body.panels)) {
      root.querySelector(`[data-panel="${name}"]`).innerHTML = html;
    }
    showState(body.state);
    if (TERMINAL.includes(body.state.status)) root.dataset.done = "";
  }
  function scheduleRefresh() {
    if (timer) return;
    timer = setTimeout(refresh, Math.max(0, REFRESH_MS - (Date.now() - lastRefresh)));
  }

  const log = document.getElementById("log");
  log.scrollTop = log.scrollHeight;
  const source = new EventSource(`/runs/${runId}/stream?after=${root.dataset.after}`);
  source.addEventListener("log", (e) => appendLog(JSON.parse(e.data)));
  source.addEventListener("state", (e) => {
    const state = JSON.parse(e.data);
    showState(state);
    if (TERMINAL.includes(state.status)) {
      source.close();
      clearTimeout(timer);
      root.querySelector("[data-live-dot]").hidden = true;
      refresh();
    } else {
      scheduleRefresh();
    }
  });
})();
