// The wire format of sticky sessions: the master accepts a connection and sends its socket to the
// chosen worker as the handle of one IPC message; a draining worker says it takes no more.
import { ENVELOPE_KEY } from './channel.js';

/** The envelope kind of a connection the master hands over with sticky sessions. */
export const STICKY_CONNECTION = 'sticky:connection';
/** Worker → master: this worker takes no more connections (it drains). */
export const STICKY_CLOSED = 'sticky:closed';

/** Sent with the socket as its handle: `worker.send(message, socket)`. */
export interface StickyConnection {
  [ENVELOPE_KEY]: 1;
  kind: typeof STICKY_CONNECTION;
  data: {
    /** Index of the app port (and of the factory's server) the connection arrived on. */
    server: number;
    /** Bytes the master read looking for the sticky header (base64): they come first. */
    head?: string;
  };
}

export function isStickyConnection(message: unknown): message is StickyConnection {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as Record<string, unknown>)[ENVELOPE_KEY] === 1 &&
    (message as Record<string, unknown>).kind === STICKY_CONNECTION
  );
}
