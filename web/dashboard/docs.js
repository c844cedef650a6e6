// The API docs page: fetch /openapi.json with the dashboard's access token (this tab's session storage),
// then render it with the locally served Swagger UI; "Try it out" requests carry the same token.
const status = document.getElementById("docs-status");
const saved = sessionStorage.getItem("solbot.tokens");
const token = saved ? JSON.parse(saved).access_token : null;
const auth = token ? { Authorization: `Bearer ${token}` } : {};

fetch("/openapi.json", { headers: auth }).then(async (response) => {
  if (!response.ok) {
    status.textContent = response.status === 401
      ? "Sign in on the dashboard (/) in this tab first, then come back to /docs."
      : `Cannot load the API document (HTTP ${response.status}).`;
    return;
  }
  if (typeof window.SwaggerUIBundle !== "function") {
    status.textContent = "Swagger UI is not installed: run `make web-assets`.";
    return;
  }
  status.remove();
  window.SwaggerUIBundle({
    spec: await response.json(),
    dom_id: "#swagger-ui",
    requestInterceptor: (request) => {
      if (token) request.headers.Authorization = `Bearer ${token}`;
      return request;
    },
  });
});
