// The chat socket: reconnects with back-off, pings to stay alive, and resends every request
// that has no final answer yet (the server cancels generation when a socket closes).
// Health: every PING_MS a ping goes out, and some frame (the pong, or any other) must come
// back within PONG_TIMEOUT_MS; otherwise the socket is half-open (the network dropped it
// without a close), so it is abandoned ("stalled") and a new one opened at once. A request
// already sent is resent with `resend: true`: the server replays it if it was answered
// meanwhile (the answer was lost on the dead socket) instead of generating it twice; a
// request answered here (completed or error) is never resent.
// The server's own close codes say when retrying cannot help: 4401 (not logged in, or the
// session ended) and 4403 (another site's page) stop for good; 4429 (too many sockets of
// this user) shows the reason and tries again slowly, in case another tab was closed.
const PING_MS = 10000;
const PONG_TIMEOUT_MS = 5000;
const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_FORBIDDEN = 4403;
const CLOSE_TOO_MANY_SOCKETS = 4429;
const TOO_MANY_RETRY_MS = 30000;

function newId() {
  if (crypto.randomUUID) return crypto.randomUUID(); // secure contexts only
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class ChatSocket {
  constructor({ onMessage, onStatus }) {
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.pending = new Map(); // request_id -> request, until completed or error
    this.sent = new Set(); // request_ids written to some socket (resent with `resend: true`)
    this.ws = null;
    this.retry = 0;
    this.everConnected = false;
    this.closedByUser = false;
  }

  connect() {
    this.closedByUser = false;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws`);
    this.ws = ws;
    ws.addEventListener("open", () => {
      const again = this.everConnected;
      this.everConnected = true;
      this.retry = 0;
      this.onStatus(again ? "reconnected" : "connected");
      for (const request of this.pending.values()) this.write(ws, request);
      clearInterval(this.pinger);
      this.pinger = setInterval(() => this.probe(ws), PING_MS);
    });
    ws.addEventListener("message", (event) => {
      if (ws === this.ws) this.alive();
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      if (message.request_id && (message.status === "completed" || message.status === "error")) {
        this.pending.delete(message.request_id);
        this.sent.delete(message.request_id);
      }
      this.onMessage(message);
    });
    ws.addEventListener("close", (event) => {
      if (this.closedByUser || this.ws !== ws) return; // an abandoned socket closing late
      clearInterval(this.pinger);
      this.alive();
      if (event.code === CLOSE_UNAUTHORIZED || event.code === CLOSE_FORBIDDEN) {
        this.closedByUser = true;
        this.pending.clear(); // they belong to a session that is over
        this.sent.clear();
        this.onStatus(event.code === CLOSE_UNAUTHORIZED ? "unauthorized" : "forbidden", event.reason);
        return;
      }
      if (event.code === CLOSE_TOO_MANY_SOCKETS) {
        this.onStatus("refused", event.reason);
        this.timer = setTimeout(() => this.connect(), TOO_MANY_RETRY_MS);
        return;
      }
      this.onStatus("reconnecting");
      const delay = Math.min(10000, 500 * 2 ** this.retry++);
      this.timer = setTimeout(() => this.connect(), delay);
    });
  }

  // A ping, and a deadline for some frame to come back (cleared by `alive`).
  probe(ws) {
    if (ws !== this.ws || ws.readyState !== WebSocket.OPEN || this.deadline) return;
    ws.send(JSON.stringify({ type: "ping" }));
    this.deadline = setTimeout(() => this.stalled(ws), PONG_TIMEOUT_MS);
  }

  alive() {
    clearTimeout(this.deadline);
    this.deadline = null;
  }

  // No frame since the last ping: drop the socket without waiting for a close that may never
  // come (its late events are ignored: `this.ws` is no longer it) and open a new one.
  stalled(ws) {
    this.deadline = null;
    if (ws !== this.ws || this.closedByUser) return;
    clearInterval(this.pinger);
    this.ws = null;
    try { ws.close(); } catch { /* already closing */ }
    this.onStatus("stalled");
    const delay = Math.min(10000, 250 * 2 ** this.retry++);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  write(ws, request) {
    const again = this.sent.has(request.request_id);
    ws.send(JSON.stringify(again ? { ...request, resend: true } : request));
    this.sent.add(request.request_id);
  }

  sendRaw(payload) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(payload));
      return true;
    }
    return false;
  }

  // `extra`: more fields of the request (`conversation_id`, `continue_from`, `replace_turn_id`).
  request(convType, body, extra = {}) {
    const request = { request_id: newId(), type: "text", conv_type: convType, body, ...extra };
    this.pending.set(request.request_id, request);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.write(this.ws, request);
    return request.request_id; // if closed, it goes out on reconnect
  }

  // Stop an answer (the server keeps its text so far and completes it marked `stopped`). With
  // the socket down the server has cancelled it already (nothing was kept): it is not resent,
  // and ends here with what was shown (`msg` null).
  stop(requestId) {
    if (this.sendRaw({ type: "stop", request_id: requestId })) return;
    if (!this.pending.delete(requestId)) return;
    this.sent.delete(requestId);
    this.onMessage({ request_id: requestId, status: "completed", msg: null, references: [], stopped: true });
  }

  close() {
    this.closedByUser = true;
    clearInterval(this.pinger);
    this.alive();
    clearTimeout(this.timer); // a pending reconnect would open a socket after logout
    if (this.ws) this.ws.close();
  }
}
