// The only module that calls fetch. Cookie-authenticated writes carry the CSRF token.
const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);
let csrfToken = null; // a promise of the session's token, shared by every write that needs it

export class ApiError extends Error {
  constructor(problem) {
    super(describeProblem(problem));
    this.problem = problem;
    this.status = problem.status;
  }
}

// Plain words for a problem+json body: the detail, then each field's messages (not twice when the detail
// already says them).
export function describeProblem(problem) {
  const head = problem.detail || problem.title || `Error ${problem.status}`;
  const parts = [head];
  for (const [field, messages] of Object.entries(problem.errors || {})) {
    const line = `${field}: ${[].concat(messages).join(" ")}`;
    if (!head.includes(line)) parts.push(line);
  }
  return parts.join("\n");
}

// One request for the token however many writes start at once (each GET could set a new one in the session
// cookie, and a write sent with the one before would be refused); asked again after a failure.
function token() {
  if (csrfToken === null) {
    csrfToken = request("GET", "/api/v1/auth/csrf").then((body) => body.csrf_token, (error) => {
      csrfToken = null;
      throw error;
    });
  }
  return csrfToken;
}

export function forgetCsrf() { csrfToken = null; }

// The header a cookie-authenticated request of `method` needs (none for reads): for requests this module does
// not send itself (the API docs page's "Try it out").
export async function csrfHeader(method) {
  return UNSAFE.has(method) ? { "X-CSRF-Token": await token() } : {};
}

export async function request(method, path, body, extraHeaders = {}) {
  const headers = { Accept: "application/json", ...extraHeaders };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (UNSAFE.has(method)) headers["X-CSRF-Token"] = await token();
  const response = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return read(response);
}

// Files as multipart/form-data (the browser sets the boundary); same errors as JSON requests.
export async function upload(path, formData) {
  const headers = { Accept: "application/json", "X-CSRF-Token": await token() };
  return read(await fetch(path, { method: "POST", headers, credentials: "same-origin", body: formData }));
}

// A file's bytes as the body, with its own type (a CSV or NDJSON of answers); same errors as JSON requests.
export async function sendFile(path, file, contentType) {
  const headers = { Accept: "application/json", "Content-Type": contentType, "X-CSRF-Token": await token() };
  return read(await fetch(path, { method: "POST", headers, credentials: "same-origin", body: file }));
}

async function read(response) {
  if (response.status === 204) return null;
  const isJson = /json/.test(response.headers.get("Content-Type") || "");
  const data = isJson ? await response.json() : null;
  if (!response.ok) {
    throw new ApiError(data || { status: response.status, title: response.statusText });
  }
  return data;
}

// A POST that happens once however often it is sent: the same body keeps its Idempotency-Key until the server
// has answered it (a double click or a retry after a dropped connection replays, never repeats); a new body, or
// the next request after a success, gets a new key. For money (deposits, payouts) and anything else not to do twice.
export function once(prefix, newKey = () => crypto.randomUUID()) {
  let kept = null;
  return async (path, body) => {
    const fingerprint = JSON.stringify(body);
    if (!kept || kept.body !== fingerprint) kept = { body: fingerprint, key: `${prefix}-${newKey()}` };
    const answer = await request("POST", path, body, { "Idempotency-Key": kept.key });
    kept = null;
    return answer;
  };
}

export const api = {
  get: (path) => request("GET", path),
  post: (path, body, headers) => request("POST", path, body, headers),
  patch: (path, body) => request("PATCH", path, body),
  put: (path, body) => request("PUT", path, body),
  del: (path) => request("DELETE", path),
  upload,
  sendFile,
};
