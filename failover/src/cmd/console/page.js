"use strict";
const regionsSeen = [];
function regionClass(r) {
  if (!r) return "rx";
  if (!regionsSeen.includes(r)) regionsSeen.push(r);
  return "r" + Math.min(regionsSeen.indexOf(r), 1);
}
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}
function fillSelect(sel, values) {
  const keep = sel.value;
  if ([...sel.options].map(o => o.value).join() === values.join()) return;
  sel.replaceChildren(...values.map(v => el("option", { value: v }, v)));
  if (values.includes(keep)) sel.value = keep;
}
const HOPS = [["external-api", "/", "gateway_region"], ["service1", "/service1", "service_region"], ["service2", "/service2", "service_region"]];

function render(s) {
  document.getElementById("meta").textContent =
    (s.error ? "error: " + s.error + " | " : "") + "updated " + new Date(s.now).toISOString();
  const body = document.querySelector("#apps tbody");
  body.replaceChildren(...s.apps.map(a => {
    const controls = el("td", {}, ...a.regions.map(r => el("span", { class: r.state || "Off" }, r.region + " " + (r.state || "?") + "  ")));
    const ready = el("td", {}, ...a.readiness.map(r => el("div", { "data-standby": r.region },
      el("b", { class: r.ready ? "ok" : "fail" }, r.region + (r.ready ? " ready" : " NOT READY")), ": ",
      r.checks.map(c => c.check + " " + c.result).join(", "),
      ...r.checks.filter(c => c.result === "fail").map(c => el("div", { class: "fail" }, c.check + ": " + c.detail)))));
    return el("tr", { "data-app": a.name },
      el("td", {}, a.name, el("br"), el("small", {}, a.hostname)),
      controls,
      el("td", { class: "active" }, el("span", { class: "pill " + regionClass(a.active_region) }, a.active_region)),
      ready);
  }));
  document.getElementById("checked").textContent = s.checked_at ? "last check " + new Date(s.checked_at).toISOString() : "";
  fillSelect(document.getElementById("activate-app"), s.apps.map(a => a.name));
  const regions = [...new Set(s.apps.flatMap(a => a.regions.map(r => r.region)))].sort();
  fillSelect(document.getElementById("activate-region"), regions);
  fillSelect(document.getElementById("evacuate-region"), regions);
  for (const id of ["activate-go", "evacuate-go"]) document.getElementById(id).disabled = s.busy;

  if (s.probe_url) {
    const points = s.timeline;
    const failed = points.filter(p => p.failed).length;
    const last = {};
    for (const p of points) last[p.path] = p;
    const probe = document.getElementById("probe");
    probe.replaceChildren(el("small", {}, "probe " + s.probe_url + ": " + points.length + " requests in the window, "),
      el("b", { id: "probe-failed", class: failed ? "fail" : "ok" }, failed + " failed"),
      el("div", { id: "probe-last" }, ...HOPS.map(([app, path, key]) => {
        const p = last[path];
        const region = p ? p[key] : null;
        return el("span", { "data-hop": app }, app + " ", el("span", { class: "pill " + regionClass(region) }, p ? (region || p.status) : "-"), "  ");
      })));
    drawTimeline(points, s.now);
  }
  document.querySelector("#runs tbody").replaceChildren(...s.runs.slice().reverse().map(r => el("tr", { "data-run": r.id, "data-state": r.state },
    el("td", {}, r.id), el("td", {}, r.what),
    el("td", { class: r.state === "succeeded" ? "ok" : r.state === "running" ? "" : "fail" }, r.state + (r.failure ? ": " + r.failure : "")),
    el("td", {}, r.recovery_ms == null ? "-" : r.recovery_ms + " ms"),
    el("td", { class: "failed-requests" }, r.failed_requests == null ? "-" : r.failed_requests),
    el("td", {}, ...r.reports.map(n => el("a", { href: "/reports/" + encodeURIComponent(n), target: "_blank" }, n.endsWith(".json") ? "JSON " : n.endsWith(".html") ? "timeline " : "page "))))));
  const states = m => Object.entries(m || {}).map(([r, s]) => r + " " + (s || "?")).join(", ");
  document.querySelector("#audit tbody").replaceChildren(...(s.audit || []).slice().reverse().map(a => el("tr", { "data-audit": a.result },
    el("td", {}, a.started_at), el("td", {}, a.who.identity), el("td", {}, a.via),
    el("td", {}, a.action + " " + a.app + " " + a.region + ": " + states(a.to)),
    el("td", {}, states(a.from)),
    el("td", {}, (a.safety_rules || []).map(r => r.rule + (r.passes ? " passes" : " blocks") + (r.overridden ? " (overridden)" : "")).join(", ") || "-"),
    el("td", { class: a.result === "applied" ? "ok" : "fail" }, a.result + (a.error ? ": " + a.error : "")))));
  if (s.audit_error) say("audit trail: " + s.audit_error, true);
}

function drawTimeline(points, now) {
  const c = document.getElementById("timeline"), g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  if (!points.length) return;
  const t0 = points[0].at, span = Math.max(now - t0, 1000), left = 90, w = c.width - left - 10;
  g.font = "12px system-ui";
  HOPS.forEach(([app, path, key], i) => {
    const y = 15 + i * 35;
    g.fillStyle = "#1d2330"; g.fillText(app, 5, y + 12);
    for (const p of points.filter(p => p.path === path)) {
      const x = left + (p.at - t0) / span * w;
      const cls = regionClass(p[key]);
      g.fillStyle = p.failed ? "#b3261e" : cls === "r0" ? "#2f6fd6" : cls === "r1" ? "#d9822b" : "#777";
      g.fillRect(x, p.failed ? y - 4 : y, 3, p.failed ? 24 : 16);
    }
  });
  g.fillStyle = "#667";
  g.fillText(regionsSeen.map((r, i) => (i ? "orange " : "blue ") + r).join("   ") + "   red: failed", left, c.height - 8);
}

function say(text, error) {
  const m = document.getElementById("message");
  m.textContent = text; m.className = error ? "error" : "";
}
async function post(path, body) {
  const r = await fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const j = await r.json();
  if (!r.ok) throw new Error(j.error || r.statusText);
  return j;
}
document.getElementById("activate-form").addEventListener("submit", async e => {
  e.preventDefault();
  const app = document.getElementById("activate-app").value, region = document.getElementById("activate-region").value;
  try { const j = await post("/api/activate", { app, region, confirm: document.getElementById("activate-confirm").value });
        say("run " + j.run + " started: " + j.what); }
  catch (err) { say(err.message, true); }
});
document.getElementById("evacuate-form").addEventListener("submit", async e => {
  e.preventDefault();
  const region = document.getElementById("evacuate-region").value;
  try { const j = await post("/api/evacuate", { region, confirm: document.getElementById("evacuate-confirm").value });
        say("run " + j.run + " started: " + j.what); }
  catch (err) { say(err.message, true); }
});
document.getElementById("check-now").addEventListener("click", () => post("/api/check", {}).then(() => say("checking...")));

async function tick() {
  try { render(await (await fetch("/api/state")).json()); }
  catch (err) { say("console unreachable: " + err.message, true); }
  setTimeout(tick, 1000);
}
tick();
