// The training page: datasets and runs under the server's data folder, start/stop/resume,
// and a run's live curves (polled every 2 s while it is open).
"use strict";
const $ = (id) => document.getElementById(id);
let openRun = null, timer = null;

function say(text, kind) { const m = $("message"); m.textContent = text; m.className = kind || ""; }
function td(tr, text, cls) {
  const c = document.createElement("td"); c.textContent = text; if (cls) c.className = cls;
  tr.appendChild(c); return c;
}
async function post(url, body) {
  const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
                               body: body ? JSON.stringify(body) : null });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.detail || r.statusText);
  return data;
}
function fill(select, values) {
  select.innerHTML = "";
  for (const v of values) { const o = document.createElement("option"); o.value = o.textContent = v; select.appendChild(o); }
}

async function loadDatasets() {
  const sets = await fetch("/api/datasets").then(r => r.json());
  const body = $("datasets").querySelector("tbody"); body.innerHTML = "";
  $("nodatasets").hidden = sets.length > 0;
  for (const d of sets) {
    const tr = document.createElement("tr");
    td(tr, d.id); td(tr, `×${d.scale}`); td(tr, d.frames); td(tr, d.degradation);
    for (const s of ["train", "val", "test"]) td(tr, d.splits[s] ? d.splits[s].samples : 0, "num");
    const cats = new Set(Object.values(d.splits).flatMap(s => s.categories));
    td(tr, [...cats].join(", "));
    body.appendChild(tr);
  }
  fill($("run-dataset"), sets.map(d => d.id));
}

async function loadRuns() {
  const runs = await fetch("/api/runs").then(r => r.json());
  const body = $("runs").querySelector("tbody"); body.innerHTML = "";
  for (const run of runs) {
    const tr = document.createElement("tr"); tr.dataset.id = run.id;
    td(tr, run.id); td(tr, run.model); td(tr, run.preset || "–");
    td(tr, run.state, `state-${run.state}`);
    td(tr, run.total_steps ? `${run.step} / ${run.total_steps}` : run.step, "num");
    td(tr, run.best ? `${run.best.gain_db >= 0 ? "+" : ""}${run.best.gain_db.toFixed(2)} dB` : "–", "num");
    const c = td(tr, "");
    const b = document.createElement("button"); b.textContent = "open"; b.onclick = () => show(run.id);
    c.appendChild(b); body.appendChild(tr);
  }
}

// A line chart of points[i][key] by step; ``log``: a logarithmic value axis (the loss).
function chart(svg, points, key, color, log) {
  const W = +svg.getAttribute("width"), H = +svg.getAttribute("height"), m = 58;
  svg.innerHTML = "";
  const ns = "http://www.w3.org/2000/svg";
  const add = (tag, attrs, text) => {
    const e = document.createElementNS(ns, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text; svg.appendChild(e); return e;
  };
  const pts = points.filter(p => Number.isFinite(p[key]) && (!log || p[key] > 0));
  if (!pts.length) { add("text", { x: W / 2, y: H / 2, "text-anchor": "middle", fill: "#5f6b78" }, "no points yet"); return; }
  const value = (p) => log ? Math.log10(p[key]) : p[key];
  const label = (v) => (log ? 10 ** v : v).toPrecision(3);
  const xs = pts.map(p => p.step), ys = pts.map(value);
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  let y0 = Math.min(...ys), y1 = Math.max(...ys); if (y1 - y0 < 1e-12) { y0 -= 1; y1 += 1; }
  const X = (v) => m + (W - m - 10) * (v - x0) / (x1 - x0);
  const Y = (v) => H - 24 - (H - 34) * (v - y0) / (y1 - y0);
  add("line", { x1: m, y1: H - 24, x2: W - 10, y2: H - 24, stroke: "#999" });
  add("line", { x1: m, y1: 10, x2: m, y2: H - 24, stroke: "#999" });
  for (const v of [y0, (y0 + y1) / 2, y1])
    add("text", { x: m - 4, y: Y(v) + 4, "text-anchor": "end", "font-size": 10 }, label(v));
  for (const v of [x0, x1]) add("text", { x: X(v), y: H - 8, "text-anchor": "middle", "font-size": 10 }, v);
  add("polyline", { fill: "none", stroke: color, "stroke-width": 1.5,
                    points: pts.map(p => `${X(p.step)},${Y(value(p))}`).join(" ") });
  if (pts.length < 40) for (const p of pts) add("circle", { cx: X(p.step), cy: Y(value(p)), r: 2.5, fill: color });
}

async function show(id) {
  openRun = id; clearTimeout(timer);
  const r = await fetch(`/api/runs/${id}/detail`);
  if (!r.ok) { say(`cannot open ${id}`, "error"); return; }
  const run = await r.json();
  $("run").hidden = false; $("run-id").textContent = run.id;
  $("run-state").textContent = `${run.state}, step ${run.step}` + (run.total_steps ? ` of ${run.total_steps}` : "");
  const actions = $("run-actions"); actions.innerHTML = "";
  const act = (text, path) => {
    const b = document.createElement("button"); b.textContent = text; b.id = `run-${text}`;
    b.onclick = async () => {
      try { const res = await post(`/api/runs/${id}/${path}`); say(`${text}: ${res.argv ? res.argv.join(" ") : "signalled"}`, "okay"); }
      catch (e) { say(e.message, "error"); }
      setTimeout(() => { show(id); loadRuns(); }, 800);
    };
    actions.appendChild(b);
  };
  if (run.state === "running") act("stop", "stop"); else if (run.state !== "finished") act("resume", "resume");
  chart($("chart-loss"), run.loss, "loss", "#1f6feb", true);
  chart($("chart-gain"), run.history, "gain_db", "#2e7d32", false);
  const links = $("run-links"); links.innerHTML = "";
  if (run.has_best) {
    const best = run.best ? ` (step ${run.best.step}, ${run.best.gain_db.toFixed(2)} dB over bicubic)` : "";
    links.innerHTML = `<p>Best model${best}: <a href="/api/runs/${id}/best.keras">best.keras</a></p>`;
  }
  for (const rep of run.reports) {
    const p = document.createElement("p"); const a = document.createElement("a");
    a.href = `/reports/${rep}`; a.textContent = `eval report ${rep}`; p.appendChild(a); links.appendChild(p);
  }
  $("run-config").textContent = JSON.stringify(run.config, null, 1);
  $("run-log").textContent = run.log.length ? run.log.join("\n")
    : "(no output here: the run was not started from this page)";
  if (run.state === "running") timer = setTimeout(() => { show(id); loadRuns(); }, 2000);
}

$("start").addEventListener("submit", async (e) => {
  e.preventDefault();
  try {
    const res = await post("/api/runs", { name: $("run-name").value, dataset: $("run-dataset").value,
      model: $("run-model").value, preset: $("run-preset").value, time_budget: $("run-budget").value || null });
    say(`started: ${res.argv.join(" ")}`, "okay");
    await loadRuns(); setTimeout(() => show(res.id), 500);
  } catch (err) { say(err.message, "error"); }
});

(async () => {
  const options = await fetch("/api/train-options").then(r => r.json());
  fill($("run-model"), options.models); fill($("run-preset"), options.presets);
  $("run-model").value = "duf-16l"; $("run-preset").value = "cpu-quick";
  if (!options.training) for (const el of $("start").elements) el.disabled = true;
  await Promise.all([loadDatasets(), loadRuns()]);
})();
