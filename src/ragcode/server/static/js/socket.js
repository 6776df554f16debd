// The chat socket: reconnects with back-off, pings to stay alive, and resends every request
// that has no final answer yet (the server cancels generation when a socket closes).
const PING_MS = 25000;

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
    ws.addEventListener("close", () => {
      clearInterval(this.pinger);
      if (this.closedByUser) return;
      this.onStatus("reconnecting");
      const delay = Math.min(10000, 500 * 2 ** this.retry++);
      setTimeout(() => this.connect(), delay);
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
    if (this.ws) this.ws.close();
  }
}
