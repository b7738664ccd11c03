// hiprom serve: uploads each dropped file to /api/analyses and follows its analysis.
// Local file, no external scripts; the page works without it (the form posts normally).
"use strict";

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;   // textContent: user text is never parsed as HTML
  return e;
}

function degrees(v) { return (v === null || v === undefined) ? "–" : v.toFixed(1) + "°"; }

function showError(box, err) {
  box.replaceChildren();
  box.append(el("p", "error", err.what || err.message || String(err)));
  if (err.fix) {
    const p = el("p");
    p.append(el("b", null, "How to fix: "), document.createTextNode(err.fix));
    box.append(p);
  }
}

function follow(row, id) {
  const state = row.querySelector(".clip-state"), bar = row.querySelector("progress");
  const box = row.querySelector(".clip-result");
  const poll = async () => {
    let job;
    try {
      const r = await fetch("/api/analyses/" + encodeURIComponent(id), {headers: {"Accept": "application/json"}});
      job = await r.json();
    } catch (e) { setTimeout(poll, 2000); return; }
    bar.value = job.progress || 0;
    if (job.status === "done") {
      state.textContent = "done";
      row.classList.add("done");
      box.replaceChildren();
      const sides = (job.result && job.result.sides) || {};
      for (const side of ["right", "left"]) {
        const s = sides[side];
        if (!s || !s.tested) continue;
        const p = el("p", "ir");
        p.dataset.side = side;
        p.append(el("b", null, side + " IR "), el("span", "value", degrees(s.peak_ir_deg)),
                 document.createTextNode("  ER " + degrees(s.peak_er_deg)));
        box.append(p);
      }
      const a = el("a", "button open-result", "Open the result and report");
      a.href = "/analyses/" + encodeURIComponent(id);
      box.append(a);
    } else if (job.status === "failed") {
      state.textContent = "refused";
      row.classList.add("failed");
      showError(box, job.error_detail || {what: job.error});
      const a = el("a", null, "How to film the test");
      a.href = "/analyses/" + encodeURIComponent(id);
      box.append(a);
    } else {
      state.textContent = job.status === "queued"
        ? "waiting" + (job.queue_position ? " (number " + job.queue_position + " in the queue)" : "")
        : "analysing" + (job.stage ? ": " + job.stage : "") + " " + Math.round(100 * (job.progress || 0)) + " %";
      setTimeout(poll, 700);
    }
  };
  poll();
}

function upload(form, file) {
  const row = document.getElementById("clip-row").content.firstElementChild.cloneNode(true);
  row.querySelector(".clip-name").textContent = file.name;
  row.querySelector(".clip-state").textContent = "sending…";
  document.getElementById("uploads").append(row);
  const data = new FormData();
  for (const [k, v] of new FormData(form).entries()) if (k !== "file") data.append(k, v);
  data.append("file", file, file.name);
  const xhr = new XMLHttpRequest();
  const bar = row.querySelector("progress");
  xhr.upload.onprogress = (e) => {
    if (e.lengthComputable) {
      bar.value = e.loaded / e.total;
      row.querySelector(".clip-state").textContent = "sending " + Math.round(100 * e.loaded / e.total) + " %";
    }
  };
  xhr.onload = () => {
    let body = {};
    try { body = JSON.parse(xhr.responseText); } catch (e) { body = {error: xhr.statusText}; }
    if (xhr.status === 202) { bar.value = 0; follow(row, body.id); return; }
    row.querySelector(".clip-state").textContent = "refused";
    row.classList.add("failed");
    showError(row.querySelector(".clip-result"), body.error_detail || {what: body.error || xhr.statusText});
  };
  xhr.onerror = () => showError(row.querySelector(".clip-result"), {what: "the upload was cut off", fix: "send it again."});
  xhr.open("POST", "/api/analyses");
  xhr.setRequestHeader("Accept", "application/json");
  xhr.send(data);
}

function setupForm(form) {
  const input = document.getElementById("files"), drop = document.getElementById("drop");
  const send = (files) => {
    const list = Array.from(files);
    if (!list.length) {
      showError(document.getElementById("uploads"), {what: "no file was chosen", fix: "drop or choose the clip of the test first."});
      return;
    }
    list.forEach((f) => upload(form, f));
    input.value = "";
  };
  form.addEventListener("submit", (e) => { e.preventDefault(); send(input.files); });
  ["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
  drop.addEventListener("drop", (e) => send(e.dataTransfer.files));
}

function setupJob(job) {
  const bar = job.querySelector("progress"), state = job.querySelector(".clip-state");
  const poll = async () => {
    try {
      const r = await fetch(job.dataset.statusUrl, {headers: {"Accept": "application/json"}});
      const j = await r.json();
      bar.value = j.progress || 0;
      if (j.status === "done" || j.status === "failed") { window.location.reload(); return; }
      state.textContent = (j.status === "queued" ? "waiting" : "analysing" + (j.stage ? ": " + j.stage : "")) +
        " " + Math.round(100 * (j.progress || 0)) + " %";
    } catch (e) { /* the server restarted: try again */ }
    setTimeout(poll, 1000);
  };
  poll();
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("new-test");
  if (form) setupForm(form);
  const job = document.getElementById("job");
  if (job) setupJob(job);
});
