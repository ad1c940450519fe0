// The API documentation: the OpenAPI document drawn by the vendored Swagger UI (loaded by the page as a classic
// script, window.SwaggerUIBundle). Anyone may read it; "Try it out" sends requests as the visitor: with their
// session cookie (writes get the session's CSRF token added here) or with the token they give to "Authorize".
import { api, csrfHeader } from "../lib/api.js";
import { showError, startPage } from "../components/chrome.js";

const section = document.getElementById("api-docs");
const host = document.getElementById("swagger-ui");
await startPage({ signedIn: section.dataset.signedIn === "true" });

async function withCsrf(request) {
  Object.assign(request.headers, await csrfHeader(String(request.method).toUpperCase()));
  return request;
}

try {
  const spec = await api.get("/api/v1/openapi.json");
  window.SwaggerUIBundle({
    spec, domNode: host, deepLinking: true, validatorUrl: null, tagsSorter: "alpha", requestInterceptor: withCsrf,
    onComplete: () => { host.dataset.state = "ready"; },
  });
} catch (error) {
  host.dataset.state = "failed";
  showError(document.getElementById("docs-error"), error);
}
