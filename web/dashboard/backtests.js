// Backtests from the page: POST /backtests runs the bundled sample through the decision code (one at a
// time); the list polls GET /backtests until it is done; "Open report" asks POST /backtests/{id}/view for
// a short-lived report cookie (the page's token never goes into a URL) and opens /reports/{id}.

export function createBacktests(ctx) {
  const { $, el, request, toast, setState, fmtNum, state } = ctx;
  let poll = null;

  function figure(value, suffix = "") {
    return value === null || value === undefined ? "—" : `${fmtNum(value)}${suffix}`;
  }

  function row(job) {
    const h = job.headline || {};
    const open = el("button", { type: "button", class: "btn btn-small", text: "Open report",
      "data-report": job.id, "aria-label": `Open the report of backtest ${job.id}`,
      disabled: job.status !== "done", onclick: () => openReport(job.id) });
    return el("tr", { "data-job": job.id, "data-status": job.status },
      el("td", { class: "mono", text: new Date(job.started_ms).toLocaleString() }),
      el("td", { class: "num mono", text: String(job.seed) }),
      el("td", { class: job.status === "failed" ? "down" : "", text: job.status === "failed" ? `failed: ${job.error}` : job.status }),
      el("td", { class: "num mono", text: h.orders === undefined ? "—" : String(h.orders) }),
      el("td", { class: "num mono", text: figure(h.pnl_usdc) }),
      el("td", { class: "num mono", text: figure(h.trading_pnl_usdc) }),
      el("td", { class: "num mono", text: figure(h.max_drawdown_pct, " %") }),
      el("td", { class: "actions" }, open));
  }

  async function load() {
    try {
      const { data } = await request("GET", "backtests");
      $("backtests").replaceChildren(...data.items.map(row));
      setState("backtests-state", data.items.length ? "" : "No backtests yet.");
      const running = data.items.some((j) => j.status === "running");
      $("backtest-run").disabled = running || !(state.permissions.has("configure_bot") || state.permissions.has("execute_trades"));
      if (running && !poll) poll = setInterval(load, 2000);
      if (!running && poll) { clearInterval(poll); poll = null; }
    } catch (error) {
      const text = error.status === 403 ? "Backtests need an owner or trader role." : `Could not load backtests: ${error.message}`;
      setState("backtests-state", text, error.status === 403 ? "" : "error");
    }
  }

  async function run(event) {
    event.preventDefault();
    const body = { seed: Number($("backtest-seed").value || "1") };
    for (const key of ["max_position_pct", "stop_loss_pct"]) {
      const value = $(`backtest-${key}`).value;
      if (value !== "") body[key] = Number(value);
    }
    try {
      const { data } = await request("POST", "backtests", body);
      toast(`Backtest ${data.id} started`, "ok");
      await load();
    } catch (error) {
      toast(`Backtest failed to start: ${error.message}`, "error");
    }
  }

  async function openReport(id) {
    // Open the tab first (a popup opened after an await is blocked), then point it at the report.
    const tab = window.open("about:blank", "_blank");
    try {
      const { data } = await request("POST", `backtests/${id}/view`);
      if (tab) tab.location.href = data.url;
      else location.assign(data.url);
    } catch (error) {
      if (tab) tab.close();
      toast(`Could not open the report: ${error.message}`, "error");
    }
  }

  function mount() {
    $("backtest-form").addEventListener("submit", run);
  }

  function stop() {
    if (poll) { clearInterval(poll); poll = null; }
  }

  return { mount, start: load, stop };
}
