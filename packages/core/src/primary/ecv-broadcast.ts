import type { MasterContext } from './master-context.js';
import { EcvState } from '../ecv/state.js';
import type { EcvSnapshot } from '../status.js';
import type { WorkerRecord } from './workers.js';

/** How long the master waits for one worker to acknowledge a switch change, ms. */
const ECV_ACK_TIMEOUT = 2000;

/** The cluster-wide ECV switch: the master's copy, and its push to every worker that listens for it. */
export class EcvBroadcast {
  readonly state: EcvState;
  readonly #context: MasterContext;

  constructor(context: MasterContext, since: Date) {
    this.#context = context;
    this.state = new EcvState(since);
  }

  snapshot(): EcvSnapshot {
    return this.state.snapshot();
  }

  /** A worker asked for the switch ('ecv:get'): from now on it hears every change. */
  synced(record: WorkerRecord): EcvSnapshot {
    record.ecvSynced = true;
    return this.state.snapshot();
  }

  /** Applies the ECV state on every worker and resolves once each has acknowledged it. */
  async set(enabled: boolean): Promise<void> {
    const changed = this.state.set(enabled);
    const snapshot = this.state.snapshot();
    await Promise.all(
      this.#context.table
        .all()
        .filter((r) => r.state !== 'dead' && r.ecvSynced)
        .map((r) => r.channel.call('ecv', snapshot, ECV_ACK_TIMEOUT).catch(() => {})),
    );
    if (changed) {
      const type = enabled ? 'enabled' : 'disabled';
      this.#context.eventLog.add({ type });
      this.#context.emitSoon(type);
    }
  }
}
