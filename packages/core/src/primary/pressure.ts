import type { PressureStatus, RefusedReason } from '../status.js';

/**
 * What the master refused or failed to accept because a bound was reached or it ran out of file
 * descriptors. Counters only grow; `/api/status` shows them as `pressure`, `/metrics` as
 * `cluster2_refused_connections_total` and `cluster2_accept_errors_total`.
 */
export class PressureCounters {
  readonly #refused: Record<string, number> = {};
  readonly #acceptErrors: Record<string, number> = {};
  readonly #warned = new Set<string>();
  readonly #warn: (message: string) => void;

  /** `warn` gets the first occurrence of each kind only: a flood must not flood the event log too. */
  constructor(warn: (message: string) => void) {
    this.#warn = warn;
  }

  refused(reason: RefusedReason): void {
    this.#refused[reason] = (this.#refused[reason] ?? 0) + 1;
    this.#once(`refused:${reason}`, `refusing connections past limits (${reason}); counted in pressure.refused`);
  }

  /** An accept that failed on the master's own listener `server` ('monitor', 'sticky'): EMFILE, ENFILE, … */
  acceptError(server: string, error: NodeJS.ErrnoException): void {
    this.#acceptErrors[server] = (this.#acceptErrors[server] ?? 0) + 1;
    this.#once(
      `accept:${server}:${error.code}`,
      `${server} listener: accept failed (${error.code ?? error.message}); it keeps listening, counted in pressure.acceptErrors`,
    );
  }

  status(): PressureStatus {
    return { refused: { ...this.#refused }, acceptErrors: { ...this.#acceptErrors } };
  }

  #once(key: string, message: string): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#warn(message);
  }
}
