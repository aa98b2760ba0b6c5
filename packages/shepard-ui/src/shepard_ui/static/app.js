// Shepard UI: the live parts of the pages. Data is only ever put into the page with textContent,
// never as HTML; state-changing requests carry the page's CSRF token in a header.
"use strict";

const REFRESH_MS = 3000;
const LOG_MS = 2000;

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute("content") : "";
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function link(href, text) {
  const a = el("a", text);
  a.setAttribute("href", href);
  return a;
}

function setText(id, text) {
  const node = document.getElementById(id);
  if (node) node.textContent = String(text);
}

async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  return { status: response.status, body: await response.json() };
}

async function postJson(url, body) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
    body: JSON.stringify(body || {}),
  });
  let data;
  try { data = await response.json(); } catch (e) { data = { ok: false, message: await response.text() }; }
  return { status: response.status, body: data };
}

// ---- Overview ----
function renderOverview(data) {
  setText("ended", data.ended);
  setText("total", data.total);
  setText("percent", data.percent);
  setText("rate", data.jobs_per_minute === null ? "–" : data.jobs_per_minute);
  setText("eta", data.eta_seconds === null ? "–" : formatSeconds(data.eta_seconds));
  setText("items", data.items_read);
  setText("read-at", data.read_at);
  if (data.spend) {
    setText("spend", data.spend.total_usd.toFixed(6));
    setText("spend-priced", data.spend.priced);
    setText("spend-unpriced", data.spend.unpriced);
    setText("spend-note", data.spend.spot_estimated ? "(Spot runs at the recent Spot price: an estimate)" : "");
  }
  const bar = document.getElementById("bar");
  if (bar) bar.style.width = data.percent + "%";
  for (const [group, count] of Object.entries(data.groups)) setText("count-" + group, count);
  const groups = Object.keys(data.groups);
  const tags = document.getElementById("tags");
  if (tags) {
    tags.replaceChildren(...data.tags.map((tag) => {
      const row = el("tr");
      const name = el("td");
      name.appendChild(link("/jobs?tag=" + encodeURIComponent(tag.tag), tag.tag));
      row.appendChild(name);
      for (const group of groups) row.appendChild(el("td", tag.groups[group]));
      row.appendChild(el("td", tag.total));
      row.appendChild(el("td", tag.spend_usd.toFixed(6), "spend"));
      const outputs = el("td");
      outputs.appendChild(link("/results/outputs.zip?tag=" + encodeURIComponent(tag.tag), "outputs"));
      row.appendChild(outputs);
      return row;
    }));
  }
  const problems = document.getElementById("problems");
  if (problems) {
    problems.replaceChildren(...data.problems.map((problem) => {
      const row = el("tr");
      const job = el("td");
      job.appendChild(link("/jobs/" + encodeURIComponent(problem.uuid), problem.uuid.slice(0, 8)));
      job.appendChild(document.createTextNode(" "));
      job.appendChild(el("span", problem.zip, "muted"));
      row.appendChild(job);
      row.appendChild(el("td", problem.group, problem.group));
      row.appendChild(el("td", problem.exit_code === null ? "" : problem.exit_code));
      row.appendChild(el("td", problem.reason, "reason"));
      row.appendChild(el("td", problem.when));
      const file = el("td");
      file.appendChild(link(problem.link, problem.link_text));
      row.appendChild(file);
      return row;
    }));
  }
}

function formatSeconds(seconds) {
  if (seconds < 90) return Math.round(seconds) + " s";
  if (seconds < 5400) return Math.round(seconds / 60) + " min";
  return (seconds / 3600).toFixed(1) + " h";
}

function startOverview() {
  const bar = document.getElementById("bar");
  if (bar) bar.style.width = document.getElementById("percent").textContent + "%";
  const tick = async () => {
    try {
      const answer = await getJson("/api/overview");
      if (answer.status === 200) renderOverview(answer.body);
    } catch (e) { /* the next tick tries again */ }
    setTimeout(tick, REFRESH_MS);
  };
  setTimeout(tick, REFRESH_MS);
}

// ---- Job ----
function startJob() {
  const log = document.getElementById("log");
  const status = document.getElementById("job-status");
  const uuid = log.dataset.uuid;
  const wasEnded = status.dataset.ended === "true";
  let after = null;
  const tick = async () => {
    let ended = true;
    try {
      const url = "/api/jobs/" + encodeURIComponent(uuid) + "/log" + (after ? "?after=" + encodeURIComponent(after) : "");
      const answer = await getJson(url);
      const chunk = answer.body;
      for (const line of chunk.lines) log.appendChild(document.createTextNode(line + "\n"));
      if (chunk.lines.length) log.scrollTop = log.scrollHeight;
      setText("log-message", chunk.message || "");
      if (chunk.after) after = chunk.after;
      ended = chunk.ended;
      if (ended && !wasEnded) { window.location.reload(); return; }
    } catch (e) { ended = false; }
    if (!ended) setTimeout(tick, LOG_MS);
  };
  tick();
  const cancel = document.getElementById("cancel");
  if (cancel) cancel.addEventListener("click", async () => {
    if (!window.confirm("Cancel job " + uuid + "?")) return;
    cancel.disabled = true;
    const answer = await postJson("/api/jobs/" + encodeURIComponent(uuid) + "/cancel");
    setText("action-result", answer.body.message);
  });
  const again = document.getElementById("run-again");
  if (again) {
    const requestId = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random();
    again.addEventListener("click", async () => {
      again.disabled = true;
      const answer = await postJson("/api/jobs/" + encodeURIComponent(uuid) + "/run-again", { request_id: requestId });
      const result = document.getElementById("action-result");
      result.replaceChildren(el("span", answer.body.message || ""));
      if (answer.body.job_uuid) {
        result.appendChild(document.createTextNode(" "));
        result.appendChild(link("/jobs/" + encodeURIComponent(answer.body.job_uuid), "the new job"));
      }
    });
  }
}

// ---- New batch ----
function collectEntry(entry, path, out) {
  return new Promise((resolve) => {
    if (entry.isFile) {
      entry.file((file) => { out.push([path + entry.name, file]); resolve(); }, () => resolve());
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      const all = [];
      const more = () => reader.readEntries(async (entries) => {
        if (!entries.length) {
          for (const child of all) await collectEntry(child, path + entry.name + "/", out);
          resolve();
        } else { all.push(...entries); more(); }
      }, () => resolve());
      more();
    } else resolve();
  });
}

function startBatch() {
  const form = document.getElementById("batch-form");
  const drop = document.getElementById("drop");
  const folderInput = document.getElementById("folder");
  const zipInput = document.getElementById("zip");
  const tsvInput = document.getElementById("tsv");
  let files = [];   // [relative path, File]
  let zip = null;
  const chosen = () => {
    if (zip) setText("chosen", "Zip: " + zip.name);
    else if (files.length) setText("chosen", "Folder: " + files[0][0].split("/")[0] + " (" + files.length + " files)");
    else setText("chosen", "Nothing chosen.");
  };
  folderInput.addEventListener("change", () => {
    files = Array.from(folderInput.files).map((file) => [file.webkitRelativePath || file.name, file]);
    zip = null; chosen();
  });
  zipInput.addEventListener("change", () => { zip = zipInput.files[0] || null; files = []; chosen(); });
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", async (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const entries = Array.from(event.dataTransfer.items).map((item) => item.webkitGetAsEntry()).filter(Boolean);
    if (entries.length === 1 && entries[0].isFile && entries[0].name.toLowerCase().endsWith(".zip")) {
      zip = event.dataTransfer.files[0]; files = [];
    } else {
      const out = [];
      for (const entry of entries) await collectEntry(entry, "", out);
      files = out; zip = null;
    }
    chosen();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData();
    if (zip) data.append("zip", zip, zip.name);
    for (const [path, file] of files) data.append("file", file, path);
    if (tsvInput.files[0]) data.append("tsv", tsvInput.files[0], tsvInput.files[0].name);
    send(data);
  });
}

function send(data) {
  const progress = document.getElementById("progress");
  const button = document.getElementById("send");
  const request = new XMLHttpRequest();
  request.open("POST", "/api/batch");
  request.setRequestHeader("X-CSRF-Token", csrfToken());
  request.responseType = "json";
  progress.hidden = false;
  progress.value = 0;
  button.disabled = true;
  request.upload.addEventListener("progress", (event) => {
    if (event.lengthComputable) {
      progress.value = Math.round(100 * event.loaded / event.total);
      setText("progress-text", "sent " + event.loaded.toLocaleString() + " of " + event.total.toLocaleString() + " bytes");
    }
  });
  request.upload.addEventListener("load", () => setText("progress-text", "sent; checking, zipping and uploading…"));
  request.addEventListener("loadend", () => {
    button.disabled = false;
    showResult(request.status, request.response);
  });
  request.send(data);
}

function showResult(status, body) {
  const section = document.getElementById("result");
  const list = document.getElementById("result-list");
  section.hidden = false;
  list.replaceChildren();
  setText("result-hint", "");
  if (!body) {
    setText("result-title", "The server did not answer (" + status + ").");
    return;
  }
  if (body.ok) {
    setText("progress-text", "done");
    setText("result-title", "Batched " + body.jobs.length + " job(s) to " + body.bucket);
    for (const job of body.jobs) {
      const item = el("li");
      if (job.uuid) item.appendChild(link("/jobs/" + encodeURIComponent(job.uuid) + "?new=1", job.uuid));
      item.appendChild(document.createTextNode(" " + job.key + (job.label ? " (" + job.label + ")" : "")));
      list.appendChild(item);
    }
  } else {
    setText("progress-text", "refused: nothing was uploaded");
    setText("result-title", "Nothing was uploaded");
    for (const problem of body.problems || [body.message]) list.appendChild(el("li", problem, "error"));
    setText("result-hint", body.hint || "");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const page = document.body.dataset.page;
  if (page === "overview") startOverview();
  else if (page === "job") startJob();
  else if (page === "batch") startBatch();
  else if (page === "pending") setTimeout(() => window.location.reload(), LOG_MS);
});
