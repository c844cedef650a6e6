// Trade history: GET /trades with its filters (pair, status, since) and keyset paging (`cursor`).

const PAGE = 25;

export function createHistory(ctx) {
  const { $, el, request, setState, fmtPrice } = ctx;
  let cursors = [null]; // cursors[i]: the cursor that loads page i (null: the newest)
  let page = 0;

  function query(cursor) {
    const params = new URLSearchParams({ limit: String(PAGE) });
    const pair = $("history-pair").value;
    const status = $("history-status").value;
    const since = $("history-since").value;
    if (pair) params.set("pair", pair);
    if (status) params.set("status", status);
    if (since) params.set("since_ms", String(new Date(since).getTime()));
    if (cursor) params.set("cursor", cursor);
    return `trades?${params}`;
  }

  function row(t) {
    return el("tr", { "data-fill": t.fill_id },
      el("td", { class: "mono", text: new Date(t.filled_ms).toLocaleString() }),
      el("th", { scope: "row", text: t.pair }),
      el("td", { class: t.side === "buy" ? "up" : "down", text: t.side }),
      el("td", { text: t.kind }),
      el("td", { text: t.status === "filled" ? "filled" : `${t.status} (${t.reason})` }),
      el("td", { class: "num mono", text: t.status === "filled" ? fmtPrice(t.price) : "—" }),
      el("td", { class: "num mono", text: (Number(t.base_amount) / 10 ** t.base_decimals).toFixed(4) }),
      el("td", { text: t.venue }));
  }

  async function load(index) {
    setState("history-state", "Loading…");
    try {
      const { data } = await request("GET", query(cursors[index]));
      page = index;
      cursors = cursors.slice(0, index + 1);
      if (data.next_cursor) cursors.push(data.next_cursor);
      $("history").replaceChildren(...data.items.map(row));
      $("history-page").textContent = `Page ${page + 1}`;
      $("history-older").disabled = !data.next_cursor;
      $("history-newer").disabled = page === 0;
      setState("history-state", data.items.length ? "" : "No trades match.");
    } catch (error) {
      setState("history-state", `Could not load trades: ${error.message}`, "error");
    }
  }

  function mount() {
    $("history-filters").addEventListener("submit", (event) => { event.preventDefault(); cursors = [null]; load(0); });
    $("history-older").addEventListener("click", () => load(page + 1));
    $("history-newer").addEventListener("click", () => load(page - 1));
  }

  function start(pairs) {
    const select = $("history-pair");
    select.replaceChildren(el("option", { value: "", text: "All pairs" }),
      ...pairs.map((p) => el("option", { value: p, text: p })));
    cursors = [null];
    return load(0);
  }

  return { mount, start, refresh: () => (page === 0 ? load(0) : null) };
}
