// The upscale page: upload (drag and drop or the file picker), the job list (polled every
// second while anything is queued or running), download, delete and the side-by-side view.
"use strict";
const $ = (id) => document.getElementById(id);
let chosen = null, limits = null, models = [], polling = null;

function human(bytes) {
  const units = ["B", "KB", "MB", "GB"]; let i = 0;
  while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i++; }
  return `${Number.isInteger(bytes) ? bytes : bytes.toFixed(1)} ${units[i]}`;
}
function duration(s) {
  if (s === null || s === undefined) return "–";
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const parts = [h && `${h} h`, m && `${m} min`, (r || s === 0) && !h && `${r} s`];
  return parts.filter(Boolean).join(" ");
}
function say(text, kind) { const m = $("message"); m.textContent = text; m.className = kind || ""; }
async function detail(response) {
  try { const body = await response.json(); return body.detail || response.statusText; }
  catch (e) { return `${response.status} ${response.statusText}`; }
}

async function loadSettings() {
  const [config, list] = await Promise.all([fetch("/api/config").then(r => r.json()),
                                            fetch("/api/models").then(r => r.json())]);
  limits = config.limits; models = list;
  $("limits").textContent = `up to ${human(limits.upload_bytes)}, ${duration(limits.seconds)}, ` +
    `${limits.width}x${limits.height}; ${limits.queued} jobs at a time`;
  $("retention").textContent = duration(limits.retention_seconds);
  const select = $("model");
  select.innerHTML = "";
  for (const m of models) {
    const o = document.createElement("option");
    o.value = m.id; o.textContent = m.label; select.appendChild(o);
  }
  const firstModel = models.find(m => m.model !== "bicubic");
  select.value = firstModel ? firstModel.id : "bicubic-x4";
  showModel();
}
function showModel() {
  const m = models.find(x => x.id === $("model").value);
  $("model-info").textContent = !m ? "" : m.model === "bicubic"
    ? "the baseline every model is compared with"
    : `×${m.scale}` + (m.trained_on ? `, trained on ${m.trained_on}` : "") +
      (m.steps ? `, ${m.steps} steps` : "");
}

function choose(file) {
  chosen = file || null;
  $("chosen").textContent = chosen ? `${chosen.name} (${human(chosen.size)})` : "no file chosen";
  $("start").disabled = !chosen;
  say("");
  if (chosen && limits && chosen.size > limits.upload_bytes) {
    say(`${chosen.name} is ${human(chosen.size)}: larger than the limit of ` +
        `${human(limits.upload_bytes)}`, "error");
    $("start").disabled = true;
  }
}

function upload() {
  if (!chosen) return;
  const file = chosen, model = $("model").value;
  $("start").disabled = true;
  const bar = $("uploading"); bar.hidden = false; bar.value = 0;
  say(`uploading ${file.name}…`);
  const xhr = new XMLHttpRequest();
  xhr.open("POST", `/api/jobs?model=${encodeURIComponent(model)}&name=${encodeURIComponent(file.name)}`);
  xhr.setRequestHeader("Content-Type", "application/octet-stream");
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = e.loaded / e.total; };
  xhr.onload = () => {
    bar.hidden = true;
    let body = {}; try { body = JSON.parse(xhr.responseText); } catch (e) {}
    if (xhr.status === 201) { say(`${file.name} is queued`, "okay"); choose(null); }
    else { say(body.detail || `upload failed (${xhr.status})`, "error"); $("start").disabled = false; }
    refresh();
  };
  xhr.onerror = () => { bar.hidden = true; say("the upload failed (connection lost)", "error");
                        $("start").disabled = false; };
  xhr.send(file);
}

function button(text, action, title) {
  const b = document.createElement("button"); b.textContent = text; b.onclick = action;
  if (title) b.title = title; return b;
}

// A job's row is made once and then updated in place, so a button is never replaced under
// the pointer while the list refreshes.
function makeRow(job) {
  const tr = document.createElement("tr"); tr.dataset.id = job.id;
  tr.innerHTML = '<td class="name"></td><td class="label"></td><td class="state"></td>' +
    '<td class="progress"><div class="bar"><div></div></div><span class="error"></span></td>' +
    '<td class="num frames"></td><td class="num rate"></td><td class="num left"></td>' +
    '<td class="actions"></td>';
  tr.querySelector(".name").textContent = job.name;
  tr.querySelector(".label").textContent = job.label;
  return tr;
}
function updateRow(tr, job) {
  const q = (c) => tr.querySelector(c);
  const state = q(".state");
  state.textContent = job.state; state.className = `state state-${job.state}`;
  state.title = job.error || "";
  const fraction = job.state === "done" ? 1 : job.total ? job.done / job.total : 0;
  q(".bar").hidden = job.state === "failed";
  q(".bar > div").style.width = `${Math.round(100 * fraction)}%`;
  q(".progress .error").textContent = job.state === "failed" ? job.error || "" : "";
  q(".frames").textContent = job.total ? `${job.done} / ${job.total}` : `${job.done}`;
  q(".rate").textContent = job.rate ? job.rate.toFixed(2) : "–";
  q(".left").textContent = job.state === "running" ? duration(job.remaining) : "–";
  if (tr.dataset.state !== job.state) {  // the actions change with the state only
    const actions = q(".actions"); actions.innerHTML = "";
    if (job.state === "done") {
      actions.appendChild(button("view", () => view(job), "bicubic beside the model, one frame"));
      const a = document.createElement("a");
      a.href = `/api/jobs/${job.id}/result`; a.textContent = "download"; a.className = "download";
      a.style.margin = "0 .5em"; actions.appendChild(a);
    }
    actions.appendChild(button("delete", () => remove(job), "delete the job and its files"));
    tr.dataset.state = job.state;
  }
}

async function refresh() {
  clearTimeout(polling);
  let jobs = [];
  try {
    const response = await fetch("/api/jobs");
    if (response.ok) jobs = await response.json();
  } catch (e) { /* the server is restarting: try again */ }
  const body = $("jobs").querySelector("tbody");
  const rows = new Map([...body.rows].map(r => [r.dataset.id, r]));
  $("nojobs").hidden = jobs.length > 0;
  let before = body.firstChild;
  for (const job of jobs) {  // newest first, as the server sends them
    let tr = rows.get(job.id);
    rows.delete(job.id);
    if (!tr) tr = makeRow(job);
    if (tr !== before) body.insertBefore(tr, before); else before = before.nextSibling;
    updateRow(tr, job);
  }
  for (const gone of rows.values()) gone.remove();
  const busy = jobs.some(j => j.state === "queued" || j.state === "running");
  polling = setTimeout(refresh, busy ? 1000 : 5000);
}

async function remove(job) {
  const response = await fetch(`/api/jobs/${job.id}`, { method: "DELETE" });
  if (!response.ok) say(await detail(response), "error");
  if (!$("viewer").hidden && $("viewer").dataset.id === job.id) $("viewer").hidden = true;
  refresh();
}

function view(job) {
  const v = $("viewer"); v.hidden = false; v.dataset.id = job.id;
  $("viewer-name").textContent = `${job.name}, ${job.label}`;
  $("img-model").src = `/api/jobs/${job.id}/preview/model`;
  $("img-bicubic").src = `/api/jobs/${job.id}/preview/bicubic`;
  applyZoom(); slide();
  v.scrollIntoView({ behavior: "smooth" });
}
function slide() {
  const s = $("slider").value;
  $("img-bicubic").style.clipPath = `inset(0 ${100 - s}% 0 0)`;
}
function applyZoom() {
  const z = $("zoom").value, box = $("compare");
  box.className = "compare " + (z === "fit" ? "fit" : "zoom");
  for (const img of [$("img-model"), $("img-bicubic")]) {
    const set = () => { img.style.width = z === "fit" ? "" : `${img.naturalWidth * z}px`; };
    if (img.complete) set(); else img.onload = set;
  }
  box.style.maxHeight = z === "fit" ? "" : "80vh";
}

const drop = $("drop");
drop.addEventListener("click", () => $("file").click());
drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") $("file").click(); });
$("file").addEventListener("change", (e) => choose(e.target.files[0]));
for (const type of ["dragenter", "dragover"])
  drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add("over"); });
for (const type of ["dragleave", "drop"])
  drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.remove("over"); });
drop.addEventListener("drop", (e) => choose(e.dataTransfer.files[0]));
$("start").addEventListener("click", upload);
$("model").addEventListener("change", showModel);
$("slider").addEventListener("input", slide);
$("zoom").addEventListener("change", applyZoom);
$("close-viewer").addEventListener("click", () => { $("viewer").hidden = true; });
loadSettings().then(refresh);
