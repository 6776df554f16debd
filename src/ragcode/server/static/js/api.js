// JSON calls to the server; the session cookie travels by itself (HttpOnly).
export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function call(method, path, body) {
  const init = { method, headers: {}, credentials: "same-origin" };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof data.detail === "string" ? data.detail : `HTTP ${response.status}`;
    throw new ApiError(response.status, detail);
  }
  return data;
}

export const api = {
  me: () => call("GET", "/api/me"),
  signup: (username, password) => call("POST", "/api/signup", { username, password }),
  login: (username, password) => call("POST", "/api/login", { username, password }),
  logout: () => call("POST", "/api/logout"),
  // One conversation's turns (all of the user's when `conversation` is null).
  history: (before, conversation) => call("GET", `/api/history?limit=50${before ? `&before=${before}` : ""}${conversation ? `&conversation=${conversation}` : ""}`),
  conversations: (limit, before) => call("GET", `/api/conversations?limit=${limit}${before ? `&before=${before}` : ""}`),
  createConversation: (title) => call("POST", "/api/conversations", title ? { title } : {}),
  renameConversation: (id, title) => call("PATCH", `/api/conversations/${encodeURIComponent(id)}`, { title }),
  deleteConversation: (id) => call("DELETE", `/api/conversations/${encodeURIComponent(id)}`),
  forgetConversation: (id) => call("POST", `/api/conversations/${encodeURIComponent(id)}/forget`),
  clearHistory: () => call("DELETE", "/api/history"),
  documents: () => call("GET", "/api/documents"),
  deleteDocument: (id) => call("DELETE", `/api/documents/${encodeURIComponent(id)}`),
  shareDocument: (id, shared) => call(shared ? "POST" : "DELETE", `/api/documents/${encodeURIComponent(id)}/share`),
  apiKeys: () => call("GET", "/api/apikeys"),
  createApiKey: (name) => call("POST", "/api/apikeys", { name }),
  revokeApiKey: (id) => call("DELETE", `/api/apikeys/${encodeURIComponent(id)}`),
  repos: () => call("GET", "/api/repos"),
  syncRepo: (name) => call("POST", `/api/repos/${encodeURIComponent(name)}/sync`),
  repoFile: (name, path) => call("GET", `/api/repos/${encodeURIComponent(name)}/file?path=${encodeURIComponent(path)}`),
  upload: (file) => { const form = new FormData(); form.append("file", file); return call("POST", "/api/documents", form); },
};
