import type { ResolvedOptions } from '../options.js';

export type DeathVerdict = { giveUp: true } | { giveUp: false; delay: number };

/**
 * Counts unexpected deaths for the whole cluster over a sliding window. The first death in a
 * window is replaced at once, the next after `minDelay`, doubling up to `maxDelay`; the death
 * that makes more than `maxRestarts` within `window` gives up.
 */
export class RestartPolicy {
  readonly #restart: ResolvedOptions['restart'];
  readonly #deaths: number[] = [];

  constructor(restart: ResolvedOptions['restart']) {
    this.#restart = restart;
  }

  recordDeath(now = Date.now()): DeathVerdict {
    const { window, maxRestarts, minDelay, maxDelay } = this.#restart;
    while (this.#deaths.length > 0 && now - this.#deaths[0]! >= window) this.#deaths.shift();
    this.#deaths.push(now);
    const count = this.#deaths.length;
    if (count > maxRestarts) return { giveUp: true };
    if (count === 1) return { giveUp: false, delay: 0 };
    return { giveUp: false, delay: Math.min(maxDelay, minDelay * 2 ** (count - 2)) };
  }

  /** Deaths within the current window. */
  get recentDeaths(): number {
    return this.#deaths.length;
  }
}
