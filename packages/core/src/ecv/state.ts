import type { ResolvedEcvOptions } from '../options.js';
import type { EcvSnapshot, EcvStatus } from '../status.js';

/** The one ECV switch of the cluster, held by the master. */
export class EcvState {
  #enabled = true;
  #since: Date;

  constructor(since: Date) {
    this.#since = since;
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  /** Returns true when the state changed. */
  set(enabled: boolean): boolean {
    if (enabled === this.#enabled) return false;
    this.#enabled = enabled;
    this.#since = new Date();
    return true;
  }

  snapshot(): EcvSnapshot {
    return { enabled: this.#enabled, since: this.#since.toString() };
  }

  status(): EcvStatus {
    return { state: this.#enabled ? 'enabled' : 'disabled', since: this.#since.toString() };
  }
}

/** What the ECV handler needs from the worker it runs in. */
export interface EcvHost {
  readonly options: ResolvedEcvOptions;
  readonly monToken: string | undefined;
  /** The cluster-wide switch as last applied in this worker (a promise while it is being confirmed). */
  snapshot(): EcvSnapshot | Promise<EcvSnapshot>;
  /** True once this worker drains: ECV answers unavailable from then on. */
  draining(): boolean;
  /** Flips the switch cluster-wide; resolves once every worker has applied it. */
  set(enabled: boolean): Promise<void>;
}
