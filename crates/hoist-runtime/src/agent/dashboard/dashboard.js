// The hoist agent's dashboard: polls /api/apps and each app's /api/apps/APP/series once a
// second and draws apps → revisions → replicas, the canary, and per-revision error rate and p99
// as hand-drawn SVG line charts. No library, no build step, nothing from the internet.
//
// Every value the page shows is also in a data attribute (data-app, data-revision, data-state,
// and on each chart series data-max and data-last), so a test, or a script, can read the page
// without parsing the words.
"use strict";

const POLL_MS = 1000;
const SVG = "http://www.w3.org/2000/svg";
// Okabe–Ito: told apart with the common colour blindnesses; each revision also has its own
// dash pattern, and its number is written beside every line in the legend.
const COLOURS = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000"];
const DASHES = ["", "6 3", "2 3", "8 3 2 3"];

/** An HTML element with attributes and children (strings become text, never markup). */
function h(tag, attrs, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

/** The same in the SVG namespace. */
function s(tag, attrs, ...children) {
  return fill(document.createElementNS(SVG, tag), attrs, children);
}

function fill(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined && v !== false) el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function colour(revision) {
  const n = Number(revision);
  return COLOURS[(Number.isFinite(n) ? n : 0) % COLOURS.length];
}

function dash(revision) {
  const n = Number(revision);
  return DASHES[Math.floor((Number.isFinite(n) ? n : 0) / COLOURS.length) % DASHES.length];
}

function swatch(revision) {
  return s("svg", { class: "swatch", width: 22, height: 10, viewBox: "0 0 22 10", "aria-hidden": "true" },
    s("line", { x1: 1, y1: 5, x2: 21, y2: 5, stroke: colour(revision), "stroke-width": 3,
      "stroke-dasharray": dash(revision) || null }));
}

function percent(x) {
  if (x === null || x === undefined) return "–";
  if (x === 0) return "0%";
  return (x * 100).toFixed(x < 0.01 ? 2 : 1) + "%";
}

function millis(x) {
  if (x === null || x === undefined) return "–";
  if (x === 0) return "0 ms";
  if (x >= 1000) return (x / 1000).toFixed(2) + " s";
  if (x >= 10) return x.toFixed(0) + " ms";
  return x.toFixed(1) + " ms";
}

function duration(seconds) {
  if (seconds < 60) return seconds + "s";
  if (seconds < 3600) return Math.floor(seconds / 60) + "m " + (seconds % 60) + "s";
  return Math.floor(seconds / 3600) + "h " + Math.floor((seconds % 3600) / 60) + "m";
}

function words(snake) {
  return String(snake).replace(/_/g, " ");
}

// ---------------------------------------------------------------------------------------------
// Charts

const W = 560, H = 200, M = { left: 56, right: 12, top: 12, bottom: 26 };

/** The metrics the page charts: which field of a series, its title, its scale and format. */
const METRICS = [
  { key: "error_rate", title: "Error rate", unit: "5xx and failed requests, per second",
    floor: 0.05, cap: 1, format: percent },
  { key: "p99_ms", title: "p99 latency", unit: "99th percentile, per second",
    floor: 10, cap: Infinity, format: millis },
];

/** Rounds a chart's top up to 1, 2 or 5 × 10ⁿ, so the ticks read well. */
function nice(max) {
  const p = Math.pow(10, Math.floor(Math.log10(max)));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

/** The last non-null value of a series, and its peak. */
function figures(values) {
  let last = null, peak = null;
  for (const v of values) {
    if (v === null || v === undefined) continue;
    last = v;
    peak = peak === null ? v : Math.max(peak, v);
  }
  return { last, peak };
}

function chart(metric, report) {
  const now = report.now_ms;
  const earliest = Math.min(now, ...report.revisions.map((r) => r.t_ms[0] ?? now));
  // The axis grows from one minute to the whole window, so a new deploy is not a sliver.
  const span = Math.min(report.window_ms, Math.max(60000, now - earliest));
  const from = now - span;
  let peak = 0;
  for (const r of report.revisions) {
    r[metric.key].forEach((v, i) => {
      if (v !== null && r.t_ms[i] >= from) peak = Math.max(peak, v);
    });
  }
  const top = Math.min(metric.cap, nice(Math.max(metric.floor, peak * 1.1)));
  const iw = W - M.left - M.right, ih = H - M.top - M.bottom;
  const x = (t) => M.left + ((t - from) / span) * iw;
  const y = (v) => M.top + ih - (Math.min(v, top) / top) * ih;

  const grid = s("g", { class: "grid" });
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    const v = top * f;
    grid.append(s("line", { x1: M.left, x2: W - M.right, y1: y(v), y2: y(v) }),
      s("text", { x: M.left - 6, y: y(v) + 4, "text-anchor": "end" }, metric.format(v)));
  }
  const step = span <= 120000 ? 30000 : span <= 300000 ? 60000 : 120000;
  for (let back = 0; back <= span; back += step) {
    const t = now - back;
    const label = back === 0 ? "now" : "−" + (back >= 60000 ? back / 60000 + "m" : back / 1000 + "s");
    grid.append(s("line", { class: "tick", x1: x(t), x2: x(t), y1: M.top + ih, y2: M.top + ih + 4 }),
      s("text", { x: x(t), y: H - 8, "text-anchor": back === 0 ? "end" : "middle" }, label));
  }

  const lines = s("g", { class: "lines" });
  const legend = h("tbody");
  const summary = [];
  for (const r of report.revisions) {
    const values = r[metric.key];
    const { last, peak: max } = figures(values);
    const g = s("g", {
      class: "series", "data-revision": r.revision, "data-max": max ?? "", "data-last": last ?? "",
      "data-points": values.filter((v) => v !== null).length,
    });
    g.append(s("title", {}, `revision ${r.revision}: latest ${metric.format(last)}, peak ${metric.format(max)}`));
    // One path per run of points with traffic; an idle second is a gap, not a zero.
    let run = [];
    const flush = () => {
      if (run.length === 1) {
        g.append(s("circle", { cx: run[0][0], cy: run[0][1], r: 2, fill: colour(r.revision) }));
      } else if (run.length > 1) {
        g.append(s("path", {
          d: run.map(([px, py], i) => (i ? "L" : "M") + px.toFixed(1) + " " + py.toFixed(1)).join(""),
          stroke: colour(r.revision), "stroke-dasharray": dash(r.revision) || null,
        }));
      }
      run = [];
    };
    values.forEach((v, i) => {
      if (v === null || r.t_ms[i] < from) flush();
      else run.push([x(r.t_ms[i]), y(v)]);
    });
    flush();
    lines.append(g);
    const requests = r.requests.reduce((a, b) => a + b, 0);
    const errors = r.errors.reduce((a, b) => a + b, 0);
    legend.append(h("tr", { "data-revision": r.revision },
      h("th", { scope: "row" }, swatch(r.revision), " r" + r.revision),
      h("td", {}, metric.format(last)),
      h("td", {}, metric.format(max)),
      h("td", {}, metric.key === "error_rate" ? `${errors} of ${requests}` : `${requests}`)));
    summary.push(`revision ${r.revision} latest ${metric.format(last)}, peak ${metric.format(max)}`);
  }
  const minutes = Math.round(span / 60000);
  const label = `${metric.title} per revision over the last ${minutes} minute${minutes === 1 ? "" : "s"}: ` +
    (summary.length ? summary.join("; ") : "no requests");
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label }, grid, lines);
  if (!report.revisions.length) {
    svg.append(s("text", { class: "empty", x: M.left + iw / 2, y: M.top + ih / 2, "text-anchor": "middle" },
      "no requests in the last ten minutes"));
  }
  return h("figure", { class: "chart", "data-metric": metric.key },
    h("figcaption", {}, h("strong", {}, metric.title), " ", h("span", { class: "meta" }, metric.unit)),
    svg,
    h("table", { class: "legend" },
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Revision"), h("th", { scope: "col" }, "Latest"),
        h("th", { scope: "col" }, "Peak"),
        h("th", { scope: "col" }, metric.key === "error_rate" ? "Failed of requests" : "Requests"))),
      legend));
}

// ---------------------------------------------------------------------------------------------
// Apps, revisions, replicas, canary

function badge(kind, text) {
  return h("span", { class: "badge", "data-kind": kind }, words(text));
}

function canaryPanel(app) {
  const c = app.canary;
  if (!c) {
    return h("section", { class: "canary", "data-canary": "none", "aria-label": "canary" },
      h("h3", {}, "Canary"),
      h("p", { class: "meta" }, "No canary: no revision is sharing the traffic with the stable one."));
  }
  const steps = c.steps.length
    ? h("ol", { class: "steps", "aria-label": "steps" }, c.steps.map((w, i) =>
      h("li", { "data-step": i, "aria-current": i === c.step ? "step" : null }, w + "%")))
    : null;
  const verdict = c.verdict
    ? h("p", { class: "verdict", "data-verdict": c.verdict.kind }, badge(c.verdict.kind, c.verdict.kind), " ", c.verdict.text)
    : h("p", { class: "verdict", "data-verdict": "pending" }, badge("pending", "pending"),
      " no verdict yet for this step");
  return h("section", { class: "canary", "data-canary": "on", "data-revision": c.revision, "data-weight": c.weight,
    "aria-label": "canary" },
    h("h3", {}, "Canary ", swatch(c.revision), " r" + c.revision),
    h("p", {}, h("meter", { min: 0, max: 100, value: c.weight, "aria-label": "canary weight" }),
      ` ${c.weight}% of the requests go to revision ${c.revision}`),
    steps, verdict);
}

function replicaItem(r) {
  const unit = r.pid !== null && r.pid !== undefined ? "pid " + r.pid
    : r.container ? "container " + r.container.slice(0, 12) : "";
  return h("li", { class: "replica", "data-replica": r.id, "data-state": r.state },
    h("span", { class: "rid" }, "#" + r.id), " ", badge(r.state, r.state),
    h("span", { class: "meta" }, ` ${unit} · 127.0.0.1:${r.port} · up ${duration(r.uptime_seconds)}` +
      (r.restarts ? ` · ${r.restarts} restart${r.restarts === 1 ? "" : "s"}` : "")),
    r.last_error ? h("div", { class: "error" }, r.last_error) : null);
}

function revisionItem(app, rev) {
  const roles = [];
  if (app.serving === rev.number) roles.push("serving");
  if (app.rolling_out === rev.number) roles.push("rolling out");
  if (app.canary && app.canary.revision === String(rev.number)) roles.push("canary");
  return h("li", { class: "revision", "data-revision": rev.number, "data-state": rev.state ?? "unknown" },
    h("div", { class: "rev-head" },
      swatch(rev.number), h("strong", {}, " r" + rev.number), " ",
      rev.version ? h("code", {}, rev.version) : null, " ",
      badge(rev.state ?? "unknown", rev.state ?? "unknown"),
      roles.filter((r) => r !== words(rev.state)).map((r) => [" ", badge("role", r)]),
      rev.reason ? h("span", { class: "meta" }, " — " + rev.reason) : null),
    rev.replicas.length
      ? h("ul", { class: "replicas", "aria-label": `replicas of revision ${rev.number}` }, rev.replicas.map(replicaItem))
      : null);
}

function appSection(app, report) {
  const id = "app-" + app.name;
  const head = h("header", { class: "app-head" },
    h("h2", { id }, app.name), " ", badge(app.state, app.state),
    h("p", { class: "meta" },
      `${app.ready}/${app.desired} ready` +
      (app.route ? ` · route ${app.route}` : "") +
      (app.serving !== null ? ` · serving r${app.serving}` : "") +
      (app.rolling_out !== null ? ` · rolling out r${app.rolling_out}` : "")));
  const charts = report
    ? h("div", { class: "charts" }, METRICS.map((m) => chart(m, report)))
    : h("p", { class: "meta" }, "no figures yet");
  return h("section", { class: "app", "data-app": app.name, "data-state": app.state, "aria-labelledby": id },
    head,
    h("div", { class: "body" },
      h("div", { class: "left" }, charts),
      h("div", { class: "right" },
        canaryPanel(app),
        h("section", { "aria-label": "revisions" },
          h("h3", {}, "Revisions"),
          h("ol", { class: "revisions" }, app.revisions.map((r) => revisionItem(app, r)))))));
}

// ---------------------------------------------------------------------------------------------
// Polling

async function json(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${r.statusText}`);
  return r.json();
}

/** Says whether the page is live. The status is a polite live region, so it changes only when
 *  the state does (a screen reader hears "live" once, not every second); a script error stays
 *  shown until the page is reloaded. */
function setStatus(state, text) {
  const el = document.getElementById("status");
  if (el.dataset.state === "script-error" || (el.dataset.state === state && state !== "error")) return;
  el.dataset.state = state;
  el.textContent = text;
}

async function poll() {
  const overview = await json("/api/apps");
  const reports = await Promise.all(overview.apps.map((a) =>
    json(`/api/apps/${encodeURIComponent(a.name)}/series`).catch(() => null)));
  document.getElementById("agent").textContent =
    `hoist ${overview.version} · proxy ${overview.proxy} · ${overview.apps.length} app${overview.apps.length === 1 ? "" : "s"}`;
  const main = document.getElementById("apps");
  if (!overview.apps.length) {
    main.replaceChildren(h("p", { class: "empty" }, "No apps yet: ", h("code", {}, "hoist deploy"), " deploys one."));
  } else {
    main.replaceChildren(...overview.apps.map((a, i) => appSection(a, reports[i])));
  }
  document.getElementById("updated").textContent =
    "updated " + new Date(overview.now_ms).toLocaleTimeString();
  setStatus("live", "Live");
}

async function loop() {
  try {
    await poll();
  } catch (e) {
    setStatus("error", `Cannot reach the agent (${e.message}); trying again every second`);
  }
  setTimeout(loop, POLL_MS);
}

// A bug in this script shows on the page (and to tests), not only in a console nobody opens.
window.addEventListener("error", (e) => setStatus("script-error", `Page error: ${e.message}`));
window.addEventListener("unhandledrejection", (e) => setStatus("script-error", `Page error: ${e.reason}`));

loop();
