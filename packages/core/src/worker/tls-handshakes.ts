import type net from 'node:net';
import type tls from 'node:tls';

/**
 * The connections of a TLS server still in their handshake. Traffic tracks a TLS connection from
 * 'secureConnection' on; before that it is a TCP socket only node:tls knows of, and a drain that
 * did not wait for it would exit under a client whose handshake was under way (a late hand-off of
 * a reload reaches a draining worker exactly then) and reset it.
 */
export class TlsHandshakes {
  readonly #pending = new Set<net.Socket>();
  readonly #idleGrace: number;
  readonly #onEmpty: () => void;
  #draining = false;

  /** `idleGrace`: while draining, a connection that has sent nothing for this long is ended, ms. */
  constructor(idleGrace: number, onEmpty: () => void) {
    this.#idleGrace = idleGrace;
    this.#onEmpty = onEmpty;
  }

  get size(): number {
    return this.#pending.size;
  }

  /** Watches `server`'s connections until each is secure or closed. */
  attach(server: tls.Server): void {
    server.on('connection', (socket: net.Socket) => {
      this.#pending.add(socket);
      socket.once('close', () => this.#settled(socket));
      if (this.#draining) this.#endIfSilent(socket);
    });
    // node:tls keeps the TCP socket a TLSSocket wraps as `_parent`.
    server.on('secureConnection', (secure: tls.TLSSocket & { _parent?: net.Socket | null }) => {
      if (secure._parent) this.#settled(secure._parent);
    });
  }

  drain(): void {
    this.#draining = true;
    for (const socket of this.#pending) this.#endIfSilent(socket);
  }

  destroyAll(): void {
    for (const socket of this.#pending) socket.destroy();
  }

  /** A handshake under way is waited for (its client is connecting now); a connection that sent nothing for `idleGrace` is ended. */
  #endIfSilent(socket: net.Socket): void {
    const readBefore = socket.bytesRead;
    setTimeout(() => {
      if (this.#pending.has(socket) && socket.bytesRead === readBefore) socket.end();
    }, this.#idleGrace).unref();
  }

  #settled(socket: net.Socket): void {
    if (this.#pending.delete(socket) && this.#pending.size === 0) this.#onEmpty();
  }
}
