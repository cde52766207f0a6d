// A WebSocket client as a real-time app writes one: it reconnects whenever the server closes,
// numbers its messages, keeps each until the server acknowledges it, and re-sends the
// unacknowledged ones after reconnecting. It records every worker it met and every close code.
import WebSocket from 'ws';
import { wsText } from '../support/ws-text.js';

export interface Close {
  code: number;
  /** The worker that held the connection. */
  pid: number;
  at: number;
}

export class NumberedClient {
  /** Every worker this client connected to, in order (the server's hello). */
  readonly pids: number[] = [];
  /** Closes of established connections while the client ran (not its own final close). */
  readonly closes: Close[] = [];
  /** Acknowledgements received per message number. */
  readonly acks = new Map<number, number>();
  /** Sent and not acknowledged yet. */
  readonly unacked = new Set<number>();
  /** Acks naming a worker other than the one the client was connected to. */
  foreignAcks = 0;
  /** Connection attempts that failed before the handshake completed. */
  failedConnects = 0;
  /** Messages sent again after a reconnect. */
  resent = 0;
  sent = 0;
  #ws: WebSocket | undefined;
  #pid: number | undefined;
  #stopped = false;

  constructor(readonly url: string) {}

  /** The worker the client is connected to now (hello received), or undefined. */
  get pid(): number | undefined {
    return this.#pid;
  }

  connect(): void {
    const ws = new WebSocket(this.url);
    this.#ws = ws;
    let pid: number | undefined;
    ws.on('error', () => {});
    ws.on('message', (data) => {
      const message = JSON.parse(wsText(data)) as { type: string; pid: number; n?: number };
      if (message.type === 'hello') {
        pid = message.pid;
        this.#pid = pid;
        this.pids.push(pid);
        // What the last connection left unacknowledged goes again, in order.
        for (const n of [...this.unacked].sort((a, b) => a - b)) {
          ws.send(JSON.stringify({ n }));
          this.resent++;
        }
      } else if (message.type === 'ack') {
        if (message.pid !== pid) this.foreignAcks++;
        this.acks.set(message.n!, (this.acks.get(message.n!) ?? 0) + 1);
        this.unacked.delete(message.n!);
      }
    });
    ws.on('close', (code) => {
      this.#pid = undefined;
      if (this.#stopped) return;
      if (pid === undefined) this.failedConnects++;
      else this.closes.push({ code, pid, at: Date.now() });
      setImmediate(() => this.connect());
    });
  }

  /** Sends the next numbered message if connected (a message is sent only on an open connection). */
  sendNext(): void {
    if (this.#pid === undefined || this.#ws?.readyState !== WebSocket.OPEN) return;
    const n = ++this.sent;
    this.unacked.add(n);
    this.#ws.send(JSON.stringify({ n }));
  }

  /** Stops reconnecting and closes with 1000; resolves once closed. */
  stop(): Promise<void> {
    this.#stopped = true;
    const ws = this.#ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      ws.once('close', () => resolve());
      ws.close(1000);
    });
  }
}
