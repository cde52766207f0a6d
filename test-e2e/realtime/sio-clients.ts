// Real socket.io-client clients for the sticky-session suites, each from its own loopback address
// (127.0.1.N): behind HAProxy that address becomes the client's X-Forwarded-For, and with
// `sticky: true` it is the key itself, so the clients spread over the workers as distinct
// machines would.
import http from 'node:http';
import { io, type Socket } from 'socket.io-client';

export interface SioClient {
  readonly index: number;
  readonly socket: Socket;
  /** Times the client connected (the first time plus every reconnection). */
  connects: number;
  /** The worker pid of each connection, from the server's 'hello'. */
  pids: number[];
  /** connect_error and engine error messages, with the server's answer when there was one. */
  errors: string[];
  disconnects: string[];
  news: number[];
}

export interface ConnectOptions {
  /** Reconnect after a disconnect (socket.io-client's default). @default false */
  reconnection?: boolean;
}

function describeError(error: Error & { context?: { responseText?: string }; description?: unknown }): string {
  const answer = error.context?.responseText ?? (typeof error.description === 'string' ? error.description : '');
  return answer ? `${error.message}: ${answer}` : error.message;
}

/** Starts `count` clients against `url` with default transports (polling, then upgrade). */
export function connectClients(url: string, count: number, { reconnection = false }: ConnectOptions = {}): SioClient[] {
  return Array.from({ length: count }, (_, index) => {
    const localAddress = `127.0.1.${index + 1}`;
    const socket = io(url, {
      reconnection,
      reconnectionDelay: 100,
      reconnectionDelayMax: 1000,
      forceNew: true,
      localAddress,
      // The polling transport's requests go through this agent: from the same address, fresh connections.
      agent: new http.Agent({ localAddress }) as unknown as string,
    } as Parameters<typeof io>[1]);
    const client: SioClient = { index, socket, connects: 0, pids: [], errors: [], disconnects: [], news: [] };
    socket.on('connect', () => client.connects++);
    socket.io.on('error', (error) => client.errors.push(describeError(error)));
    socket.on('connect_error', (error) => client.errors.push(describeError(error)));
    socket.on('disconnect', (reason) => client.disconnects.push(reason));
    socket.on('hello', (pid: number) => client.pids.push(pid));
    socket.on('news', (n: number) => client.news.push(n));
    return client;
  });
}

/** Connected on WebSocket and greeted by a worker: the state a working client settles in. */
export function settled(client: SioClient): boolean {
  return client.socket.connected && upgraded(client) && client.pids.length === client.connects;
}

/** The engine moved from long-polling to WebSocket on the current connection. */
export function upgraded(client: SioClient): boolean {
  return client.socket.io.engine?.transport?.name === 'websocket';
}

export function closeClients(clients: SioClient[]): void {
  for (const client of clients) client.socket.disconnect();
}

/** The worker of each client's current connection, counted per pid. */
export function spread(clients: SioClient[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const client of clients) {
    const pid = client.pids.at(-1);
    if (pid !== undefined) counts.set(pid, (counts.get(pid) ?? 0) + 1);
  }
  return counts;
}
