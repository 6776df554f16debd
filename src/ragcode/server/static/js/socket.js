// The chat socket: reconnects with back-off, pings to stay alive, and resends every request
// that has no final answer yet (the server cancels generation when a socket closes).
// The server's own close codes say when retrying cannot help: 4401 (not logged in, or the
// session ended) and 4403 (another site's page) stop for good; 4429 (too many sockets of
// this user) shows the reason and tries again slowly, in case another tab was closed.
const PING_MS = 25000;
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
      for (const request of this.pending.values()) ws.send(JSON.stringify(request));
      this.pinger = setInterval(() => this.sendRaw({ type: "ping" }), PING_MS);
    });
    ws.addEventListener("message", (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      if (message.request_id && (message.status === "completed" || message.status === "error")) {
        this.pending.delete(message.request_id);
      }
      this.onMessage(message);
    });
    ws.addEventListener("close", (event) => {
      clearInterval(this.pinger);
      if (this.closedByUser || this.ws !== ws) return;
      if (event.code === CLOSE_UNAUTHORIZED || event.code === CLOSE_FORBIDDEN) {
        this.closedByUser = true;
        this.pending.clear(); // they belong to a session that is over
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

  sendRaw(payload) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(payload));
      return true;
    }
    return false;
  }

  request(convType, body) {
    const request = { request_id: newId(), type: "text", conv_type: convType, body };
    this.pending.set(request.request_id, request);
    this.sendRaw(request); // if closed, it goes out on reconnect
    return request.request_id;
  }

  close() {
    this.closedByUser = true;
    clearInterval(this.pinger);
    clearTimeout(this.timer); // a pending reconnect would open a socket after logout
    if (this.ws) this.ws.close();
  }
}
