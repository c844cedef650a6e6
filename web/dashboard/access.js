// Who did what and who is signed in: GET /audit (owners; "Older" pages by `before`), and this wallet's
// sessions (GET /auth/sessions) with End (DELETE /auth/sessions/{id}; ending the current one signs out).

export function createAccess(ctx) {
  const { $, el, request, toast, setState, state } = ctx;
  let before = [null];
  let onSignOut = () => {};

  function auditRow(a) {
    return el("tr", { "data-audit": String(a.id) },
      el("td", { class: "mono", text: new Date(a.at).toLocaleString() }),
      el("th", { scope: "row", class: "mono", text: a.actor.length > 16 ? `${a.actor.slice(0, 4)}…${a.actor.slice(-4)}` : a.actor,
        title: a.actor }),
      el("td", { text: `${a.action} (${a.source})` }),
      el("td", { class: "mono", text: a.target }),
      el("td", { class: "mono muted small", text: JSON.stringify(a.detail) }));
  }

  async function loadAudit(index = 0) {
    if (!state.permissions.has("manage_roles")) { $("audit-panel").hidden = true; return; }
    $("audit-panel").hidden = false;
    try {
      const cursor = before[index];
      const { data } = await request("GET", `audit?limit=20${cursor ? `&before=${cursor}` : ""}`);
      before = before.slice(0, index + 1);
      if (data.next_before) before.push(data.next_before);
      $("audit").replaceChildren(...data.items.map(auditRow));
      $("audit-older").disabled = !data.next_before;
      $("audit-newer").disabled = index === 0;
      $("audit-older").onclick = () => loadAudit(index + 1);
      $("audit-newer").onclick = () => loadAudit(index - 1);
      setState("audit-state", data.items.length ? "" : "Nothing recorded yet.");
    } catch (error) {
      setState("audit-state", `Could not load the audit log: ${error.message}`, "error");
    }
  }

  async function loadSessions() {
    try {
      const { data } = await request("GET", "auth/sessions");
      $("sessions").replaceChildren(...data.sessions.map((s) => el("li", { "data-session": s.id },
        el("span", { class: "mono", text: s.id.slice(0, 8) }),
        el("span", { class: "muted", text: `${s.current ? "this tab, " : ""}ends ${new Date(s.ends_s * 1000).toLocaleString()}` }),
        el("button", { type: "button", class: "btn btn-small", text: "End", "aria-label": `End session ${s.id.slice(0, 8)}`,
          onclick: () => endSession(s) }))));
    } catch (error) {
      $("sessions").replaceChildren(el("li", { class: "error", text: `Could not load sessions: ${error.message}` }));
    }
  }

  async function endSession(session) {
    try {
      await request("DELETE", `auth/sessions/${session.id}`);
      if (session.current) { onSignOut("This session was ended."); return; }
      toast("Session ended", "ok");
      await loadSessions();
    } catch (error) {
      toast(`Could not end the session: ${error.message}`, "error");
    }
  }

  return {
    mount: (signOut) => { onSignOut = signOut; },
    start: () => { before = [null]; return Promise.allSettled([loadAudit(0), loadSessions()]); },
  };
}
