// Kill switch and rebalance: POST /system/halt, /system/resume, /portfolio/rebalance (all wallet-signed),
// and the halt state the fast path holds (GET /system/trading), shown in the top bar.

export function createControls(ctx) {
  const { $, el, request, toast, state } = ctx;

  function showHalt(data) {
    const halted = Boolean(data && data.halted);
    const badge = $("halt-state");
    badge.textContent = halted ? `Halted: ${data.reason}` : "Trading";
    badge.className = `badge ${halted ? "halted" : "on"}`;
    badge.dataset.halted = String(halted);
    $("halt-button").hidden = halted;
    $("resume-button").hidden = !halted;
  }

  async function loadHalt() {
    try {
      const { data } = await request("GET", "system/trading");
      showHalt(data);
    } catch (error) {
      $("halt-state").textContent = `Halt state unknown: ${error.message}`;
    }
  }

  async function send(button, path, body, done) {
    button.disabled = true;
    try {
      const { data } = await request("POST", path, body, { sign: true });
      toast(done(data), "ok");
      await loadHalt();
    } catch (error) {
      toast(`${button.textContent} failed: ${error.message}`, "error");
    } finally {
      button.disabled = !state.permissions.has(path === "system/resume" ? "configure_bot" : "execute_trades");
    }
  }

  function halt() {
    const reason = $("halt-reason").value.trim() || "operator";
    const flatten = $("halt-flatten").checked;
    if (flatten && !window.confirm("Halt and sell every position?")) return;
    send($("halt-button"), "system/halt", { reason, flatten }, (d) => `Halted (${d.id})`);
  }

  function resume() {
    send($("resume-button"), "system/resume", undefined, (d) => `Resumed (${d.id})`);
  }

  function rebalanceRows(pairs) {
    $("rebalance-targets").replaceChildren(...pairs.flatMap((pair) => {
      const id = `rebalance-${pair.replace(/[^A-Za-z0-9]/g, "-")}`;
      return [el("label", { for: id, text: `${pair} (% of equity)` }),
        el("input", { id, type: "number", min: "0", max: "100", step: "0.1", placeholder: "unchanged",
          "data-pair": pair, inputmode: "decimal" })];
    }));
  }

  async function rebalance(event) {
    event.preventDefault();
    const targets = {};
    for (const input of $("rebalance-targets").querySelectorAll("input")) {
      if (input.value !== "") targets[input.dataset.pair] = Number(input.value) / 100;
    }
    const result = $("rebalance-result");
    try {
      const { data } = await request("POST", "portfolio/rebalance", { targets, reason: "dashboard" }, { sign: true });
      result.textContent = `Rebalance requested (${data.id}); an alert reports when it is done.`;
      result.className = "form-result ok";
    } catch (error) {
      result.textContent = error.message;
      result.className = "form-result error";
    }
  }

  function mount() {
    $("halt-button").addEventListener("click", halt);
    $("resume-button").addEventListener("click", resume);
    $("rebalance-form").addEventListener("submit", rebalance);
  }

  function start(pairs) {
    const trade = state.permissions.has("execute_trades");
    $("halt-button").disabled = !trade;
    $("resume-button").disabled = !state.permissions.has("configure_bot");
    $("rebalance-form").querySelector("button").disabled = !trade;
    $("controls").hidden = false;
    rebalanceRows(pairs);
    return loadHalt();
  }

  return { mount, start, loadHalt };
}
