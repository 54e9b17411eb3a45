"use strict";
// The status page: polls /admin/status with the admin token and renders it. Rates and
// quantiles are computed over the last minute from two snapshots of the cumulative
// counters and histograms (over everything since start while no request came in).
(() => {
  const POLL_MS = 1000;
  const WINDOW_MS = 60000;
  let token = null;
  let timer = null;
  const snapshots = [];

  const match = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (match) {
    token = decodeURIComponent(match[1]);
    // Out of the address bar, the history and any screenshot of it.
    history.replaceState(null, "", location.pathname + location.search);
  }

  const $ = (id) => document.getElementById(id);

  function cell(row, text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    row.appendChild(td);
    return td;
  }

  function fill(tableId, rows, columns, empty) {
    const body = $(tableId).tBodies[0];
    body.replaceChildren();
    if (rows.length === 0) {
      const tr = body.insertRow();
      const td = cell(tr, empty, "empty");
      td.colSpan = columns;
      return;
    }
    for (const cells of rows) {
      const tr = body.insertRow();
      for (const [text, cls] of cells) cell(tr, text, cls);
    }
  }

  const usd = (v) => (v === null || v === undefined ? "–" : "$" + Number(v).toFixed(4));
  const int = (v) => (v === null || v === undefined ? "–" : (Math.round(v) + 0).toLocaleString("en"));
  const pct = (v) => (Number.isFinite(v) ? (v * 100).toFixed(1) + " %" : "–");

  function seconds(s) {
    if (!Number.isFinite(s)) return "–";
    if (s < 1) return (s * 1000).toFixed(s < 0.01 ? 2 : 0) + " ms";
    return s.toFixed(2) + " s";
  }

  function duration(ms) {
    const s = Math.round(ms / 1000);
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  }

  // The q-quantile of the observations between two cumulative histograms, by linear
  // interpolation inside the bucket it falls in (as Prometheus' histogram_quantile).
  function quantile(q, now, before) {
    const count = now.count - (before ? before.count : 0);
    if (count <= 0) return NaN;
    const rank = q * count;
    let lower = 0;
    let below = 0;
    for (let i = 0; i < now.buckets.length; i++) {
      const [le, cum] = now.buckets[i];
      // A histogram without series yet has no buckets: nothing to subtract.
      const earlier = before && before.buckets[i] ? before.buckets[i][1] : 0;
      const c = cum - earlier;
      if (c >= rank) {
        const inBucket = c - below;
        return inBucket > 0 ? lower + ((le - lower) * (rank - below)) / inBucket : le;
      }
      lower = le;
      below = c;
    }
    return lower;
  }

  function windowed(now) {
    const t = performance.now();
    snapshots.push({ t, s: now });
    while (snapshots.length > 2 && t - snapshots[1].t >= WINDOW_MS) snapshots.shift();
    const first = snapshots[0];
    const span = (t - first.t) / 1000;
    const traffic = now.traffic;
    const prev = first.s.traffic;
    const requests = traffic.requests - prev.requests;
    const status = (k, s) => (s.by_status[k] || 0);
    const errors5 = status("5xx", traffic) - status("5xx", prev);
    const errors4 = status("4xx", traffic) - status("4xx", prev);
    const inWindow = snapshots.length > 1 && traffic.latency_seconds.count > prev.latency_seconds.count;
    const base = inWindow ? prev : null;
    return {
      rps: snapshots.length > 1 && span > 0 ? requests / span : NaN,
      errors5: requests > 0 ? errors5 / requests : NaN,
      errors4: requests > 0 ? errors4 / requests : NaN,
      latency: [0.5, 0.99].map((q) => quantile(q, traffic.latency_seconds, base && base.latency_seconds)),
      ttft: [0.5, 0.99].map((q) => quantile(q, traffic.ttft_seconds, base && base.ttft_seconds)),
      label: inWindow ? "last " + duration(span * 1000) : "since start",
    };
  }

  function render(s) {
    $("version").textContent = "v" + s.version;
    $("uptime").textContent = "up " + duration(s.uptime_seconds * 1000);
    const w = windowed(s);
    $("rps").textContent = Number.isFinite(w.rps) ? w.rps.toFixed(2) : "–";
    $("error-rate").textContent = "5xx " + pct(w.errors5) + " · 4xx " + pct(w.errors4);
    $("latency").textContent = w.latency.map(seconds).join(" / ");
    $("ttft").textContent = w.ttft.map(seconds).join(" / ");
    $("in-flight").textContent = int(s.traffic.in_flight);
    $("requests-total").textContent = int(s.traffic.requests);
    $("window").textContent = "Rates over the last " + duration(Math.min(WINDOW_MS, (performance.now() - snapshots[0].t) || 0)) +
      "; quantiles " + w.label + ".";
    renderProviders(s.providers || []);
    renderUsage(s.usage || {});
    renderReloads(s.reloads || []);
  }

  function renderProviders(providers) {
    const rows = [];
    const cooldowns = [];
    for (const p of providers) {
      for (const e of p.endpoints) {
        const b = e.breaker || { state: "closed", remaining_ms: 0 };
        rows.push([
          [p.provider], [p.format || ""], [e.url],
          e.healthy ? ["up", "ok"] : ["down", "bad"],
          [b.state + (b.reason ? " (" + b.reason + ")" : ""), b.state === "closed" ? "ok" : "warn"],
          [b.state === "open" ? duration(b.remaining_ms) : "–"],
          [int(e.in_flight)], [int(e.requests)], [int(e.failures)],
          [e.latency_ewma_ms ? e.latency_ewma_ms.toFixed(1) + " ms" : "–"],
        ]);
      }
      for (const m of p.model_cooldowns || []) {
        cooldowns.push([
          [p.provider], [m.endpoint || ""], [m.model],
          [m.state, m.state === "open" ? "warn" : "ok"], [m.reason || ""],
          [m.state === "open" ? duration(m.remaining_ms) : "–"],
        ]);
      }
    }
    fill("providers", rows, 10, "no providers configured");
    fill("cooldowns", cooldowns, 6, "none");
  }

  function renderUsage(u) {
    const budget = (b, k) => (b && b[k] !== null && b[k] !== undefined ? usd(b[k]) : "no budget");
    const left = (b, k) => (b && b[k] !== null && b[k] !== undefined && b[k] <= 0 ? "bad" : "");
    fill("keys", (u.keys || []).map((k) => [
      [k.name], [k.team || "–"], [int(k.requests)], [int(k.tokens)],
      [usd(k.spend_usd && k.spend_usd.today)], [usd(k.spend_usd && k.spend_usd.month)],
      [budget(k.budget, "daily_remaining_usd"), left(k.budget, "daily_remaining_usd")],
      [budget(k.budget, "monthly_remaining_usd"), left(k.budget, "monthly_remaining_usd")],
    ]), 8, u.error ? "usage unavailable: " + u.error : "no keys configured (open mode)");
    fill("teams", (u.teams || []).map((t) => [
      [t.name], [int(t.requests)], [int(t.tokens)],
      [usd(t.spend_usd && t.spend_usd.today)], [usd(t.spend_usd && t.spend_usd.month)],
      [budget(t.budget, "daily_remaining_usd"), left(t.budget, "daily_remaining_usd")],
      [budget(t.budget, "monthly_remaining_usd"), left(t.budget, "monthly_remaining_usd")],
    ]), 7, "no teams configured");
  }

  function renderReloads(reloads) {
    fill("reloads", reloads.slice().reverse().map((r) => [
      [new Date(r.unix_ms).toLocaleTimeString("en-GB")],
      r.ok ? ["applied", "ok"] : ["rejected", "bad"],
      [r.error || ""],
    ]), 3, "no reload since start");
  }

  function setState(text, cls) {
    const el = $("state");
    el.textContent = text;
    el.className = "state " + (cls || "");
  }

  function showLogin() {
    clearInterval(timer);
    timer = null;
    $("main").hidden = true;
    $("login").hidden = false;
    setState("admin token needed", "down");
  }

  async function poll() {
    const headers = token ? { Authorization: "Bearer " + token } : {};
    let resp;
    try {
      resp = await fetch("/admin/status", { headers, cache: "no-store" });
    } catch (e) {
      setState("unreachable", "down");
      return;
    }
    if (resp.status === 401) {
      showLogin();
      return;
    }
    if (!resp.ok) {
      setState("error " + resp.status, "down");
      return;
    }
    const s = await resp.json();
    $("login").hidden = true;
    $("main").hidden = false;
    render(s);
    setState("live · " + new Date().toLocaleTimeString("en-GB"), "live");
  }

  function start() {
    if (timer === null) timer = setInterval(poll, POLL_MS);
    poll();
  }

  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    token = $("token").value;
    $("token").value = "";
    start();
  });

  start();
})();
