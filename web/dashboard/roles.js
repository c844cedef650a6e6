// Roles, for owners: GET /roles, PUT /roles/{wallet} and DELETE /roles/{wallet} (both wallet-signed).

export function createRoles(ctx) {
  const { $, el, request, toast, setState, state } = ctx;

  function row(grant) {
    const self = grant.wallet === state.wallet;
    return el("tr", { "data-wallet": grant.wallet },
      el("th", { scope: "row", class: "mono", text: grant.wallet }),
      el("td", { text: grant.role }),
      el("td", { class: "mono muted", text: grant.granted_by }),
      el("td", { class: "actions" }, el("button", {
        type: "button", class: "btn btn-sell btn-small", text: "Revoke", "aria-label": `Revoke ${grant.wallet}`,
        title: self ? "Your own role" : "Remove the role and end the wallet's sessions",
        onclick: (event) => revoke(grant.wallet, event.currentTarget),
      })));
  }

  async function load() {
    if (!state.permissions.has("manage_roles")) { $("roles-panel").hidden = true; return; }
    $("roles-panel").hidden = false;
    try {
      const { data } = await request("GET", "roles");
      $("roles").replaceChildren(...data.roles.map(row));
      setState("roles-state", data.roles.length ? "" : "No roles.");
    } catch (error) {
      setState("roles-state", `Could not load roles: ${error.message}`, "error");
    }
  }

  async function revoke(wallet, button) {
    if (!window.confirm(`Revoke the role of ${wallet}?`)) return;
    button.disabled = true;
    try {
      const { data } = await request("DELETE", `roles/${wallet}`, undefined, { sign: true });
      toast(`Revoked ${data.previous} from ${wallet} (${data.sessions_ended} session(s) ended)`, "ok");
      await load();
    } catch (error) {
      button.disabled = false;
      toast(`Revoke failed: ${error.message}`, "error");
    }
  }

  async function grant(event) {
    event.preventDefault();
    const wallet = $("role-wallet").value.trim();
    const role = $("role-role").value;
    const result = $("role-result");
    try {
      await request("PUT", `roles/${wallet}`, { role }, { sign: true });
      result.textContent = `${wallet} is now ${role}.`;
      result.className = "form-result ok";
      $("role-wallet").value = "";
      await load();
    } catch (error) {
      result.textContent = error.message;
      result.className = "form-result error";
    }
  }

  return { mount: () => $("role-form").addEventListener("submit", grant), start: load };
}
