// solbot dashboard: plain ES module, no build step. Talks to /api/v1 (REST) and /ws (live bridge).
// Sign-in: a browser wallet (Phantom: window.phantom.solana or window.solana) or, in tests, the injected
// window.__SOLBOT_TEST_SIGNER__ = {publicKey: "<base58>", signMessage(bytes) -> Promise<Uint8Array>}.
// Trading calls (orders, strategy deploys) carry the wallet's signature over the request as well as the
// token (X-Solbot-Timestamp/Nonce/Signature, see web/api/request_signing.py); /ws authenticates with the
// `bearer.<token>` subprotocol, never with the token in its URL.
// Development on this machine: "Sign in locally" asks the API to sign in as the development owner key
// (POST /auth/local/session) and to sign each trading request with it (POST /auth/local/sign); see
// docs/dashboard.md and docs/security.md.

import { createAccess } from "/static/access.js";
import { createBacktests } from "/static/backtests.js";
import { createControls } from "/static/controls.js";
import { createHistory } from "/static/history.js";
import { createRoles } from "/static/roles.js";

const API = "/api/v1";
const CHANNELS = ["prices", "orders", "fills", "alerts", "status"]; // orders: owner and trader only
const MAX_POINTS = 2000;
const FIT_POINTS = 240;
const CLOSE_PENDING_MS = 30000; // a close stays "Requested" this long (or until its position is gone)
const COLORS = { green: "#0ECB81", red: "#F6465D", accent: "#F0B90B", text: "#EAECEF", muted: "#848E9C",
  border: "#2B3139", panel: "#161A1E", bg: "#0B0E11" };
const DIST_COLORS = ["#F0B90B", "#0ECB81", "#3B82F6", "#A855F7", "#F6465D", "#14B8A6", "#848E9C"];

const $ = (id) => document.getElementById(id);

const state = {
  tokens: null, // {access_token, refresh_token}
  signer: null, // the wallet, kept after sign-in to sign trading requests
  wallet: null,
  permissions: new Set(),
  ws: null,
  wsRetryMs: 1000,
  pair: null,
  series: new Map(), // pair -> [{time, value}]
  lastPrices: {},
  firstPrices: {},
  fills: [], // newest first
  orders: new Map(), // order_id -> order (live, no fill yet)
  closes: new Map(), // pair -> {id, status, at} of a close request still pending
  chart: null,
  line: null,
  markers: null,
  timers: [],
};

// ---------- small helpers ----------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children) node.append(child);
  return node;
}

function fmtPrice(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  if (Math.abs(value) >= 1) return value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 4 });
  return value.toPrecision(4);
}

function fmtNum(value, digits = 2) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function signed(node, value) {
  node.classList.toggle("up", value > 0);
  node.classList.toggle("down", value < 0);
}

function short(text) {
  return text && text.length > 12 ? `${text.slice(0, 4)}…${text.slice(-4)}` : text;
}

function setState(id, text, kind = "") {
  const node = $(id);
  node.textContent = text;
  node.hidden = !text;
  node.className = `state ${kind}`;
}

let toastTimer = null;
function toast(text, kind = "") {
  const node = $("toast");
  node.textContent = text;
  node.className = `toast ${kind}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { node.textContent = ""; }, 6000);
}

const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
function base58(bytes) {
  let n = 0n;
  for (const b of bytes) n = n * 256n + BigInt(b);
  let out = "";
  while (n > 0n) { out = B58[Number(n % 58n)] + out; n /= 58n; }
  for (const b of bytes) { if (b !== 0) break; out = "1" + out; }
  return out;
}

// ---------- REST ----------

class ApiError extends Error {
  constructor(status, body) {
    const error = body && body.error ? body.error : {};
    const fields = (error.fields || []).map((f) => `${f.field.replace(/^body\./, "")}: ${f.message}`);
    super([error.message || `HTTP ${status}`, ...fields].join("; "));
    this.status = status;
    this.fields = error.fields || [];
  }
}

function hex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

// The wallet's signature over one request: the exact lines web/api/request_signing.py verifies.
async function signatureHeaders(method, url, payload) {
  if (!window.crypto || !window.crypto.subtle) throw new Error("Trading needs HTTPS (or localhost) in this browser.");
  if (!state.signer) state.signer = await walletSigner();
  if (state.signer.publicKey !== state.wallet) throw new Error("The connected wallet is not the signed-in one.");
  const nonceBytes = crypto.getRandomValues(new Uint8Array(18));
  const nonce = btoa(String.fromCharCode(...nonceBytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const timestamp = String(Date.now());
  const bodyHash = hex(await crypto.subtle.digest("SHA-256", payload || new Uint8Array()));
  const message = ["solbot signed request v1", `Domain: ${location.host}`, `Method: ${method}`,
    `Path: ${url}`, `Body-SHA256: ${bodyHash}`, `Timestamp: ${timestamp}`, `Nonce: ${nonce}`].join("\n");
  const signature = state.signer.signText ? await state.signer.signText(message)
    : base58(new Uint8Array(await state.signer.sign(new TextEncoder().encode(message))));
  return { "X-Solbot-Timestamp": timestamp, "X-Solbot-Nonce": nonce, "X-Solbot-Signature": signature };
}

async function request(method, path, body, { retry = true, sign = false } = {}) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (state.tokens) headers["Authorization"] = `Bearer ${state.tokens.access_token}`;
  const url = path.startsWith("/") ? path : `${API}/${path}`;
  const payload = body === undefined ? undefined : new TextEncoder().encode(JSON.stringify(body));
  if (sign) Object.assign(headers, await signatureHeaders(method, url, payload)); // fresh nonce per attempt
  const response = await fetch(url, { method, headers, body: payload });
  if (response.status === 401 && retry && state.tokens) {
    if (await refreshTokens()) return request(method, path, body, { retry: false, sign });
    signOut("Your session ended; sign in again.");
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return { status: response.status, data };
}

async function refreshTokens() {
  try {
    const response = await fetch(`${API}/auth/refresh`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: state.tokens.refresh_token }),
    });
    if (!response.ok) return false;
    saveTokens(await response.json());
    // An open socket takes the new token in place: it would otherwise close when the old one expires.
    if (state.ws && state.ws.readyState === WebSocket.OPEN) {
      state.ws.send(JSON.stringify({ type: "auth", token: state.tokens.access_token }));
    }
    return true;
  } catch {
    return false;
  }
}

function saveTokens(tokens) {
  state.tokens = { access_token: tokens.access_token, refresh_token: tokens.refresh_token };
  sessionStorage.setItem("solbot.tokens", JSON.stringify(state.tokens));
}

// ---------- sign-in ----------

// The development key, held by the API: it signs this session's request messages and nothing else.
function localSigner(wallet) {
  return {
    publicKey: wallet,
    signText: async (message) => (await request("POST", "auth/local/sign", { message })).data.signature,
  };
}

async function walletSigner() {
  if (sessionStorage.getItem("solbot.signer") === "local") return localSigner(state.wallet);
  const test = window.__SOLBOT_TEST_SIGNER__;
  if (test) return { publicKey: String(test.publicKey), sign: (bytes) => test.signMessage(bytes) };
  const provider = (window.phantom && window.phantom.solana) || window.solana;
  if (!provider) throw new Error("No Solana wallet found. Install Phantom, then reload this page.");
  const connected = await provider.connect();
  const key = (connected && connected.publicKey) || provider.publicKey;
  return {
    publicKey: key.toString(),
    sign: async (bytes) => {
      const result = await provider.signMessage(bytes, "utf8");
      return result && result.signature ? result.signature : result;
    },
  };
}

async function signIn() {
  const buttons = [$("sign-in"), $("sign-in-main")];
  buttons.forEach((b) => { b.disabled = true; b.textContent = "Signing in…"; });
  $("signin-error").textContent = "";
  try {
    const signer = await walletSigner();
    state.signer = signer;
    const { data: issued } = await request("POST", "auth/nonce", { wallet: signer.publicKey });
    const signature = await signer.sign(new TextEncoder().encode(issued.message));
    const { data: tokens } = await request("POST", "auth/verify", {
      wallet: signer.publicKey, message: issued.message, signature: base58(new Uint8Array(signature)),
    });
    saveTokens(tokens);
    await start();
  } catch (error) {
    $("signin-error").textContent = `Sign-in failed: ${error.message}`;
  } finally {
    buttons.forEach((b) => { b.disabled = false; b.textContent = "Connect wallet"; });
  }
}

async function signInLocally() {
  const button = $("sign-in-local");
  button.disabled = true;
  $("signin-error").textContent = "";
  try {
    const { data: tokens } = await request("POST", "auth/local/session");
    saveTokens(tokens);
    sessionStorage.setItem("solbot.signer", "local");
    await start();
  } catch (error) {
    $("signin-error").textContent = `Local sign-in failed: ${error.message}`;
  } finally {
    button.disabled = false;
  }
}

async function offerLocalSignIn() {
  try {
    const { data } = await request("GET", "auth/local", undefined, { retry: false });
    $("local-sign-in").hidden = !data.available;
  } catch {
    $("local-sign-in").hidden = true;
  }
}

async function logOut() {
  // Ends the session server-side (its tokens and open sockets stop working), then forgets it here.
  if (state.tokens) await request("POST", "auth/logout", undefined, { retry: false }).catch(() => null);
  signOut();
}

function signOut(message = "") {
  state.tokens = null;
  state.signer = null;
  sessionStorage.removeItem("solbot.tokens");
  sessionStorage.removeItem("solbot.signer");
  backtests.stop();
  $("controls").hidden = true;
  if (state.ws) { state.ws.onclose = null; state.ws.close(); state.ws = null; }
  state.timers.forEach(clearInterval);
  state.timers = [];
  $("dashboard").hidden = true;
  $("signin-panel").hidden = false;
  $("sign-in").hidden = false;
  $("sign-out").hidden = true;
  $("wallet-address").textContent = "";
  $("signin-error").textContent = message;
  setWsStatus("offline");
  offerLocalSignIn();
}

async function start() {
  const { data: me } = await request("GET", "auth/me");
  state.wallet = me.wallet;
  state.permissions = new Set(me.permissions);
  if (!me.role) {
    signOut(`Signed in as ${me.wallet}, which has no role yet: ask the bot's owner to grant one.`);
    return;
  }
  $("wallet-address").textContent = short(me.wallet);
  $("wallet-address").title = me.wallet;
  $("sign-in").hidden = true;
  $("sign-out").hidden = false;
  $("signin-panel").hidden = true;
  $("dashboard").hidden = false;
  $("main").focus();
  initChart();
  const pairs = await request("GET", "system/trading").then(({ data }) => data.pairs).catch(() => []);
  await Promise.allSettled([loadMarket(), loadPortfolio(), loadFills(), loadStrategies(), loadAlerts(), loadStatus(),
    controls.start(pairs), tradeHistory.start(pairs), backtests.start(), roles.start(), access.start()]);
  connectWs();
  state.timers.push(setInterval(loadPortfolio, 10000), setInterval(loadStatus, 15000));
}

// ---------- live bridge ----------

function setWsStatus(kind) {
  const labels = { live: "Live", connecting: "Live: connecting…", offline: "Live: offline" };
  $("ws-status").textContent = labels[kind];
  $("ws-dot").className = `dot ${kind}`;
}

function connectWs() {
  if (!state.tokens) return;
  setWsStatus("connecting");
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws`, ["solbot.v1", `bearer.${state.tokens.access_token}`]);
  state.ws = ws;
  ws.onopen = () => { state.wsRetryMs = 1000; setWsStatus("live"); ws.send(JSON.stringify({ subscribe: CHANNELS })); };
  ws.onmessage = (event) => {
    let message;
    try { message = JSON.parse(event.data); } catch { return; }
    onLive(message);
  };
  ws.onclose = async (event) => {
    setWsStatus("offline");
    if (!state.tokens) return;
    if (event.code === 4403) { signOut("This wallet no longer has a role that may read."); return; }
    if (event.code === 4401 && !(await refreshTokens())) { signOut("Your session ended; sign in again."); return; }
    setTimeout(connectWs, state.wsRetryMs);
    state.wsRetryMs = Math.min(state.wsRetryMs * 2, 15000);
  };
}

function onLive(message) {
  switch (message.type) {
    case "prices": onPrices(message.data, Date.now()); break;
    case "orders": onOrder(message.data); break;
    case "fills": onFill(message.data); tradeHistory.refresh(); break;
    case "alerts": addAlert(message.data, true); controls.loadHalt(); break;
    case "status": $("svc-clients").textContent = `${message.data.clients} live client(s)`; break;
    case "dropped": toast(`Live feed fell behind: ${message.count} update(s) skipped`, "warn"); break;
    default: break;
  }
}

// ---------- market / chart ----------

function initChart() {
  if (state.chart) return;
  const lib = window.LightweightCharts;
  if (!lib) {
    setState("chart-state", "Chart library not installed: run `make web-assets`. Prices still update below.", "error");
    return;
  }
  state.chart = lib.createChart($("chart"), {
    autoSize: true,
    layout: { background: { color: COLORS.panel }, textColor: COLORS.muted, fontFamily: "inherit" },
    grid: { vertLines: { color: COLORS.border }, horzLines: { color: COLORS.border } },
    rightPriceScale: { borderColor: COLORS.border },
    timeScale: { borderColor: COLORS.border, timeVisible: true, secondsVisible: true },
    crosshair: { mode: 1 },
  });
  state.line = state.chart.addSeries(lib.LineSeries, {
    color: COLORS.accent, lineWidth: 2,
  });
  state.markers = lib.createSeriesMarkers(state.line, []);
}

async function loadMarket() {
  try {
    const { data } = await request("GET", "market-data");
    const prices = Object.fromEntries(data.prices.map((p) => [p.pair, p.price]));
    if (Object.keys(prices).length) onPrices(prices, Date.now());
    else setState("chart-state", "Waiting for prices… (is the bot running?)");
  } catch (error) {
    setState("chart-state", `Could not load prices: ${error.message}`, "error");
  }
}

function onPrices(prices, nowMs) {
  const time = Math.floor(nowMs / 1000);
  for (const [pair, value] of Object.entries(prices)) {
    if (!(pair in state.firstPrices)) state.firstPrices[pair] = value;
    state.lastPrices[pair] = value;
    const points = state.series.get(pair) || [];
    if (points.length && points[points.length - 1].time === time) points[points.length - 1].value = value;
    else points.push({ time, value });
    if (points.length > MAX_POINTS) points.shift();
    state.series.set(pair, points);
  }
  if (!state.pair) selectPair(defaultPair(Object.keys(prices)));
  renderTabs();
  renderTickers();
  const points = state.series.get(state.pair);
  if (state.line && points && points.length) {
    state.line.update(points[points.length - 1]);
    // Until the chart has a screenful of points, show all of them rather than a few huge bars.
    if (points.length <= FIT_POINTS) state.chart.timeScale().fitContent();
  }
  renderLast();
  setState("chart-state", "");
}

function defaultPair(pairs) {
  // The first pair quoted in USDC reads best (SOL/USDC before BONK/SOL's 1e-7 prices).
  return pairs.includes("SOL/USDC") ? "SOL/USDC" : pairs.sort().find((p) => p.endsWith("/USDC")) || pairs.sort()[0];
}

function priceFormat(value) {
  // Enough decimals for four significant digits, whatever the magnitude.
  const precision = value > 0 ? Math.min(12, Math.max(2, 3 - Math.floor(Math.log10(value)))) : 2;
  return { type: "price", precision, minMove: 10 ** -precision };
}

function selectPair(pair) {
  state.pair = pair;
  if (state.line) {
    const points = state.series.get(pair) || [];
    if (points.length) state.line.applyOptions({ priceFormat: priceFormat(points[points.length - 1].value) });
    state.line.setData(state.series.get(pair) || []);
    renderMarkers();
    state.chart.timeScale().fitContent();
  }
  renderTabs();
  renderLast();
}

function renderTabs() {
  const tabs = $("pair-tabs");
  const pairs = [...state.series.keys()].sort();
  if (tabs.childElementCount === pairs.length && [...tabs.children].every((b, i) => b.dataset.pair === pairs[i])) {
    for (const b of tabs.children) {
      const active = b.dataset.pair === state.pair;
      b.setAttribute("aria-selected", String(active));
      b.tabIndex = active ? 0 : -1;
    }
    return;
  }
  tabs.replaceChildren(...pairs.map((pair) => el("button", {
    type: "button", role: "tab", class: "tab", "data-pair": pair, text: pair,
    "aria-selected": String(pair === state.pair), tabindex: pair === state.pair ? "0" : "-1",
    onclick: () => selectPair(pair),
    onkeydown: (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      const next = pairs[(pairs.indexOf(pair) + step + pairs.length) % pairs.length];
      selectPair(next);
      tabs.querySelector(`[data-pair="${CSS.escape(next)}"]`).focus();
    },
  })));
}

function renderLast() {
  const value = state.lastPrices[state.pair];
  $("last-price").textContent = fmtPrice(value);
  $("last-price").dataset.pair = state.pair || "";
  const first = state.firstPrices[state.pair];
  const change = first ? ((value - first) / first) * 100 : 0;
  $("last-change").textContent = first ? `${change >= 0 ? "+" : ""}${change.toFixed(2)}%` : "";
  signed($("last-change"), change);
}

function renderTickers() {
  $("tickers").replaceChildren(...Object.keys(state.lastPrices).sort().map((pair) => {
    const value = state.lastPrices[pair];
    const first = state.firstPrices[pair];
    const change = el("span", { class: "mono small", text: first ? `${(((value - first) / first) * 100).toFixed(2)}%` : "" });
    signed(change, value - first);
    return el("li", { "data-pair": pair }, el("span", { class: "muted", text: pair }),
      el("span", { class: "mono price", text: fmtPrice(value) }), change);
  }));
}

function renderMarkers() {
  if (!state.markers) return;
  const points = state.series.get(state.pair) || [];
  if (!points.length) { state.markers.setMarkers([]); return; }
  const first = points[0].time;
  const markers = state.fills
    .filter((f) => f.pair === state.pair && f.status === "filled")
    .map((f) => ({ time: Math.floor(f.filled_ms / 1000), side: f.side, price: f.price }))
    .filter((f) => f.time >= first)
    .map((f) => {
      // A marker must sit on a bar: the last price point at or before the fill.
      let at = points[0].time;
      for (const p of points) { if (p.time <= f.time) at = p.time; else break; }
      const buy = f.side === "buy";
      return { time: at, position: buy ? "belowBar" : "aboveBar", color: buy ? COLORS.green : COLORS.red,
        shape: buy ? "arrowUp" : "arrowDown", text: `${buy ? "B" : "S"} ${fmtPrice(f.price)}` };
    })
    .sort((a, b) => a.time - b.time);
  state.markers.setMarkers(markers);
}

// ---------- portfolio ----------

async function loadPortfolio() {
  try {
    const { data } = await request("GET", "portfolio");
    renderPortfolio(data);
    renderPositions(data.positions);
  } catch (error) {
    setState("portfolio-state", `Could not load the portfolio: ${error.message}`, "error");
    setState("positions-state", `Could not load positions: ${error.message}`, "error");
  }
}

function renderPortfolio(data) {
  $("total-balance").textContent = fmtNum(data.total_value_usdc);
  const valued = data.balances.filter((b) => b.value_usdc && b.value_usdc > 0);
  const total = valued.reduce((sum, b) => sum + b.value_usdc, 0);
  valued.sort((a, b) => b.value_usdc - a.value_usdc);
  $("distribution-bar").replaceChildren(...valued.map((b, i) => el("span", {
    style: `width:${(100 * b.value_usdc) / total}%;background:${DIST_COLORS[i % DIST_COLORS.length]}`,
  })));
  $("distribution").replaceChildren(...valued.map((b, i) => el("li", {},
    el("span", { class: "swatch", style: `background:${DIST_COLORS[i % DIST_COLORS.length]}`, "aria-hidden": "true" }),
    el("span", { class: "sym", text: b.symbol || short(b.mint) }),
    el("span", { class: "mono muted", text: fmtNum(b.amount, 4) }),
    el("span", { class: "mono", text: `${fmtNum(b.value_usdc)} USDC` }),
    el("span", { class: "mono muted", text: `${((100 * b.value_usdc) / total).toFixed(1)}%` }),
  )));
  setState("portfolio-state", data.balances.length ? "" : "No balances yet.");
}

function renderPositions(positions) {
  const open = positions.filter((p) => p.base_amount > 0);
  const now = Date.now();
  for (const [pair, pending] of state.closes) {
    if (now - pending.at > CLOSE_PENDING_MS || !open.some((p) => p.pair === pair)) state.closes.delete(pair);
  }
  const canTrade = state.permissions.has("execute_trades");
  $("positions").replaceChildren(...open.map((p) => {
    const pnl = el("td", { class: "num mono", text: fmtNum(p.unrealised_pnl_quote, 4) });
    signed(pnl, p.unrealised_pnl_quote || 0);
    const realised = el("td", { class: "num mono", text: fmtNum(p.realised_pnl_quote, 4) });
    signed(realised, p.realised_pnl_quote);
    const pending = state.closes.get(p.pair);
    const close = el("button", {
      type: "button", class: "btn btn-sell btn-small", text: pending ? "Requested" : "Close", "data-pair": p.pair,
      "aria-label": `Close position ${p.pair}`, disabled: !canTrade || Boolean(pending),
      title: canTrade ? "Ask the risk agent to exit this position" : "Only the owner wallet may trade",
      "data-request-id": pending && pending.id, "data-status": pending && String(pending.status),
      onclick: (event) => closePosition(p.pair, event.currentTarget),
    });
    return el("tr", { "data-pair": p.pair },
      el("th", { scope: "row", text: p.pair }),
      el("td", { class: "num mono", text: fmtNum(p.base_amount, 4) }),
      el("td", { class: "num mono", text: fmtPrice(p.avg_entry_price) }),
      el("td", { class: "num mono", text: fmtPrice(p.mark_price) }),
      pnl, realised, el("td", { class: "actions" }, close));
  }));
  setState("positions-state", open.length ? "" : "No open positions.");
}

async function closePosition(pair, button) {
  button.disabled = true;
  button.textContent = "Closing…";
  try {
    const { status, data } = await request("POST", "orders", { action: "close", pair }, { sign: true });
    state.closes.set(pair, { id: data.id, status, at: Date.now() });
    button.textContent = "Requested";
    button.dataset.requestId = data.id;
    button.dataset.status = String(status);
    toast(`Close ${pair} requested (${data.id})`, "ok");
  } catch (error) {
    button.disabled = false;
    button.textContent = "Close";
    toast(`Close ${pair} failed: ${error.message}`, "error");
  }
}

// ---------- orders and fills ----------

function onOrder(order) {
  state.orders.set(order.id, order);
  renderOrders();
}

function onFill(fill) {
  state.orders.delete(fill.order_id);
  state.fills.unshift(fill);
  state.fills.length = Math.min(state.fills.length, 200);
  renderOrders();
  renderFills();
  renderMarkers();
  loadPortfolio();
}

function renderOrders() {
  const canTrade = state.permissions.has("execute_trades");
  const orders = [...state.orders.values()];
  $("orders").replaceChildren(...orders.map((o) => el("tr", { "data-order": o.id },
    el("th", { scope: "row", class: "mono", text: short(o.id), title: o.id }),
    el("td", { text: o.pair }),
    el("td", { class: o.side === "buy" ? "up" : "down", text: o.side }),
    el("td", { text: o.kind }),
    el("td", { class: "num mono", text: String(o.amount_in) }),
    el("td", { text: o.venue }),
    el("td", { class: "actions" }, el("button", {
      type: "button", class: "btn btn-small", text: "Cancel", "aria-label": `Cancel order ${o.id}`,
      disabled: !canTrade, onclick: (event) => cancelOrder(o.id, event.currentTarget),
    })))));
  setState("orders-state", orders.length ? "" : "No active orders.");
}

async function cancelOrder(orderId, button) {
  button.disabled = true;
  try {
    const { data } = await request("POST", "orders", { action: "cancel", order_id: orderId }, { sign: true });
    button.textContent = "Requested";
    toast(`Cancel requested (${data.id})`, "ok");
  } catch (error) {
    button.disabled = false;
    toast(`Cancel failed: ${error.message}`, "error");
  }
}

async function loadFills() {
  try {
    const { data } = await request("GET", "trades?limit=50");
    state.fills = data.items.map((t) => ({ ...t, id: t.fill_id }));
    renderFills();
    renderMarkers();
  } catch (error) {
    $("fills").replaceChildren(el("li", { class: "error", text: `Could not load fills: ${error.message}` }));
  }
}

function renderFills() {
  if (!state.fills.length) { $("fills").replaceChildren(el("li", { class: "muted", text: "No fills yet." })); return; }
  $("fills").replaceChildren(...state.fills.slice(0, 8).map((f) => el("li", { "data-pair": f.pair },
    el("span", { class: "mono muted", text: new Date(f.filled_ms).toLocaleTimeString() }),
    el("span", { text: f.pair }),
    el("span", { class: f.status !== "filled" ? "down" : f.side === "buy" ? "up" : "down",
      text: f.status === "filled" ? f.side : `${f.side} failed` }),
    el("span", { class: "mono", text: f.status === "filled" ? fmtPrice(f.price) : f.reason }))));
}

// ---------- strategies ----------

const FIELDS = [
  { key: "max_position_pct", label: "Max position size (% of equity)", step: "0.1", min: "0.1", max: "100" },
  { key: "stop_loss_pct", label: "Stop loss (%)", step: "0.1", min: "0.1", max: "100" },
  { key: "take_profit_pct", label: "Take profit (%)", step: "0.1", min: "0.1", max: "1000" },
  { key: "grid_levels", label: "Grid levels (0: not a grid)", step: "1", min: "0", max: "100" },
];

async function loadStrategies() {
  try {
    const { data } = await request("GET", "strategy");
    $("strategies").replaceChildren(...data.strategies.map(strategyForm));
    setState("strategies-state", data.strategies.length ? "" : "No strategies.");
  } catch (error) {
    const text = error.status === 403 ? "Only the owner wallet may view and change strategies."
      : `Could not load strategies: ${error.message}`;
    setState("strategies-state", text, error.status === 403 ? "" : "error");
  }
}

function strategyForm(s) {
  const id = (key) => `strategy-${s.name}-${key}`;
  const canConfigure = state.permissions.has("configure_bot");
  const result = el("p", { class: "form-result", role: "status", "aria-live": "polite" });
  const form = el("form", { class: "strategy", "data-strategy": s.name, "aria-label": `Strategy ${s.name}`, novalidate: true });
  const badge = el("span", { class: `badge ${s.enabled ? "on" : "off"}`, text: s.enabled ? "Deployed" : "Stopped" });
  form.append(el("div", { class: "strategy-head" }, el("h3", { text: s.name }), badge));
  const grid = el("div", { class: "fields" });
  for (const f of FIELDS) {
    grid.append(el("label", { for: id(f.key), text: f.label }),
      el("input", { id: id(f.key), name: f.key, type: "number", inputmode: "decimal", step: f.step, min: f.min,
        max: f.max, value: String(s[f.key]), required: true, disabled: !canConfigure }),
      el("span", { class: "field-error", id: `${id(f.key)}-error`, "aria-live": "polite" }));
  }
  grid.append(el("label", { for: id("pairs"), text: "Pairs (comma-separated)" }),
    el("input", { id: id("pairs"), name: "pairs", type: "text", value: s.pairs.join(", "), disabled: !canConfigure,
      autocomplete: "off", spellcheck: "false" }),
    el("span", { class: "field-error", id: `${id("pairs")}-error`, "aria-live": "polite" }));
  form.append(grid);
  const body = (enabled) => {
    const value = (key) => form.elements[key].value;
    return { name: s.name, enabled, max_position_pct: Number(value("max_position_pct")),
      stop_loss_pct: Number(value("stop_loss_pct")), take_profit_pct: Number(value("take_profit_pct")),
      grid_levels: Number(value("grid_levels")),
      pairs: value("pairs").split(",").map((p) => p.trim()).filter(Boolean) };
  };
  const showFieldErrors = (fields) => {
    form.querySelectorAll(".field-error").forEach((n) => { n.textContent = ""; });
    form.querySelectorAll("input").forEach((n) => n.removeAttribute("aria-invalid"));
    for (const f of fields) {
      const key = f.field.replace(/^body\./, "").split(".")[0];
      const input = form.elements[key];
      if (!input) continue;
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", `${id(key)}-error`);
      $(`${id(key)}-error`).textContent = f.message;
    }
  };
  const run = async (label, action) => {
    result.textContent = `${label}…`;
    result.className = "form-result";
    form.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    try {
      result.textContent = await action();
      result.className = "form-result ok";
      showFieldErrors([]);
    } catch (error) {
      showFieldErrors(error.fields || []);
      result.textContent = error.message;
      result.className = "form-result error";
    } finally {
      form.querySelectorAll("button").forEach((b) => { b.disabled = !canConfigure; });
    }
  };
  const save = (enabled) => async () => {
    const { data } = await request("PUT", "strategy", body(enabled), { sign: true });
    s.enabled = data.enabled;
    badge.textContent = data.enabled ? "Deployed" : "Stopped";
    badge.className = `badge ${data.enabled ? "on" : "off"}`;
    return `Saved at ${new Date(data.updated_ms).toLocaleTimeString()}`;
  };
  const test = async () => {
    const { data } = await request("POST", "strategy/test", body(s.enabled));
    return `Backtest on ${data.sample}: ${JSON.stringify(data.result)}`;
  };
  form.addEventListener("submit", (event) => { event.preventDefault(); run("Saving", save(s.enabled)); });
  form.append(el("div", { class: "form-actions" },
    el("button", { type: "submit", class: "btn btn-accent", text: "Save", disabled: !canConfigure }),
    el("button", { type: "button", class: "btn", text: "Test", disabled: !canConfigure,
      onclick: () => run("Running backtest", test) }),
    el("button", { type: "button", class: "btn btn-buy", text: "Deploy", disabled: !canConfigure,
      "aria-label": `Deploy ${s.name} (save and enable)`, onclick: () => run("Deploying", save(true)) })), result);
  return form;
}

// ---------- alerts and status ----------

async function loadAlerts() {
  try {
    const { data } = await request("GET", "alerts?limit=20");
    $("alerts").replaceChildren();
    data.items.slice().reverse().forEach((a) => addAlert(a, false));
    setState("alerts-state", data.items.length ? "" : "No alerts.");
  } catch (error) {
    setState("alerts-state", `Could not load alerts: ${error.message}`, "error");
  }
}

function addAlert(alert, live) {
  const item = el("li", { class: `alert ${alert.level}` },
    el("span", { class: "level", text: alert.level }),
    el("span", { class: "mono muted", text: new Date(alert.ts_ms).toLocaleTimeString() }),
    el("span", { class: "msg", text: alert.message }));
  $("alerts").prepend(item);
  while ($("alerts").childElementCount > 50) $("alerts").lastChild.remove();
  setState("alerts-state", "");
  if (live && alert.level !== "info") toast(alert.message, "warn");
}

async function loadStatus() {
  try {
    const { data } = await request("GET", "system/status");
    for (const name of ["postgres", "redis", "broker"]) {
      const node = $(`svc-${name}`);
      const up = data[name].reachable;
      node.textContent = `${name[0].toUpperCase()}${name.slice(1)} ${up ? "up" : "down"}`;
      node.className = up ? "up" : "down";
      node.title = data[name].error || "";
    }
    $("svc-clients").textContent = `${data.websocket_clients} live client(s)`;
  } catch (error) {
    const text = error.status === 403 ? "status needs view_analytics" : `status unavailable: ${error.message}`;
    $("svc-clients").textContent = text;
  }
}

// ---------- boot ----------

const ctx = { $, el, request, toast, setState, state, fmtPrice, fmtNum };
const controls = createControls(ctx);
const tradeHistory = createHistory(ctx);
const backtests = createBacktests(ctx);
const roles = createRoles(ctx);
const access = createAccess(ctx);
for (const part of [controls, tradeHistory, backtests, roles]) part.mount();
access.mount(signOut);
$("sign-in-local").addEventListener("click", signInLocally);

$("sign-in").addEventListener("click", signIn);
$("sign-in-main").addEventListener("click", signIn);
$("sign-out").addEventListener("click", () => logOut());

const saved = sessionStorage.getItem("solbot.tokens");
if (saved) {
  state.tokens = JSON.parse(saved);
  start().catch(() => signOut());
} else {
  offerLocalSignIn();
}
