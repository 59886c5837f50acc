// The upload's mapping step: "Preview" sends the chosen file to /datasets/preview (nothing
// is stored), then shows the guessed mapping as editable selects, the first records as
// they will be stored and the errors; each change previews again. "Upload" sends the
// file with the mapping shown.
"use strict";
(() => {
  const form = document.getElementById("upload-form");
  const panel = document.getElementById("upload-preview");
  if (!form || !panel) return;
  const mappingInput = form.querySelector("input[name=mapping]");
  const ROLES = ["question", "answer", "id", "rationale", "perspective", "choices"];
  let latest = 0; // only the newest preview's answer is shown

  function el(tag, attrs = {}, text = "") {
    const node = document.createElement(tag);
    Object.entries(attrs).forEach(([k, v]) => node.setAttribute(k, v));
    if (text) node.textContent = text;
    return node;
  }

  function currentMapping() {
    const shape = panel.querySelector("select[name=shape]");
    if (!shape) return null;
    const columns = {};
    panel.querySelectorAll("select[data-role]").forEach((s) => {
      if (s.value) columns[s.dataset.role] = s.value;
    });
    const perspective = panel.querySelector("input[name=perspective]").value.trim();
    return { shape: shape.value, columns, perspective: perspective || null };
  }

  function render(body) {
    panel.replaceChildren();
    panel.hidden = false;
    const mapping = body.mapping;
    const row = el("div", { class: "row" });
    const shape = el("select", { name: "shape" });
    ["columns", "alpaca", "chat"].forEach((s) => {
      const o = el("option", { value: s }, s);
      if (s === mapping.shape) o.selected = true;
      shape.append(o);
    });
    const shapeLabel = el("label", {}, "Shape ");
    shapeLabel.append(shape);
    row.append(shapeLabel);
    ROLES.forEach((role) => {
      const select = el("select", { "data-role": role });
      select.append(el("option", { value: "" }, "–"));
      body.columns.forEach((c) => {
        const o = el("option", { value: c }, c);
        if (mapping.columns[role] === c) o.selected = true;
        select.append(o);
      });
      const label = el("label", {}, `${role} `);
      label.append(select);
      row.append(label);
    });
    const perspective = el("input", { name: "perspective", placeholder: "other:standard_cot" });
    perspective.value = mapping.perspective || "";
    const pLabel = el("label", {}, "Perspective (if no column) ");
    pLabel.append(perspective);
    row.append(pLabel);
    panel.append(el("h3", {}, "Column mapping"), row);
    row.addEventListener("change", preview);

    const report = body.report;
    if (report.error_count) {
      const box = el("div", { class: "error", role: "alert" });
      box.append(el("p", {}, `${report.error_count} error(s):`));
      const list = el("ul");
      report.errors.forEach((e) =>
        list.append(el("li", {}, `line ${e.line || "–"}, field ${e.field || "–"}: ${e.message}`))
      );
      box.append(list);
      const more = report.error_count - report.errors.length;
      if (more > 0) box.append(el("p", {}, `and ${more} more`));
      panel.append(box);
    } else {
      panel.append(el("p", { class: "notice" }, `${report.rows} records ready to store.`));
    }
    if (body.rows.length) {
      const keys = [...new Set(body.rows.flatMap((r) => Object.keys(r)))];
      const table = el("table", { class: "compact", id: "preview-rows" });
      const head = el("tr");
      keys.forEach((k) => head.append(el("th", {}, k)));
      table.append(el("thead"), el("tbody"));
      table.tHead.append(head);
      body.rows.forEach((r) => {
        const tr = el("tr");
        keys.forEach((k) => tr.append(el("td", {}, r[k] === undefined ? "" : String(r[k]))));
        table.tBodies[0].append(tr);
      });
      panel.append(el("h3", {}, "Preview (as stored)"), table);
    }
  }

  async function preview() {
    const mapping = currentMapping();
    mappingInput.value = mapping ? JSON.stringify(mapping) : "";
    const data = new FormData(form);
    const asked = ++latest;
    const answer = await fetch("/datasets/preview", { method: "POST", body: data });
    const body = await answer.json();
    if (asked !== latest) return;
    if (!answer.ok) {
      panel.hidden = false;
      panel.replaceChildren(el("p", { class: "error", role: "alert" }, body.error.message));
      return;
    }
    render(body);
    mappingInput.value = JSON.stringify(body.mapping);
  }

  document.getElementById("preview-upload").addEventListener("click", () => {
    mappingInput.value = "";
    panel.replaceChildren();
    preview();
  });
  form.querySelector("input[type=file]").addEventListener("change", () => {
    mappingInput.value = "";
    panel.replaceChildren();
    panel.hidden = true;
  });
})();
