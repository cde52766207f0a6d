import type { Worker } from 'node:cluster';
import { debuglog } from 'node:util';
import { Cluster2Error } from '../errors.js';
import type { MasterContext } from './master-context.js';
import type { Reloads } from './reloads.js';
import type { Spawner } from './spawner.js';
import type { StickyGate } from './sticky-gate.js';

const debug = debuglog('cluster2');

/** `stop()`: SIGTERM first, SIGKILL after this long, ms. */
export const STOP_KILL_DELAY = 2000;

/** How the master ends: graceful (every worker drains) or fast (SIGTERM, then SIGKILL). */
export type EndMode = 'shutting-down' | 'stopping';

/** What the shutdown stops besides the workers. */
export interface ShutdownLinks {
  readonly spawner: Spawner;
  readonly reloads: Reloads;
  readonly sticky: StickyGate;
  /** The master's own timers and listeners (heartbeat ticker, signals, stderr guard). */
  stopServices(): void;
  /** Writes the log lines still queued (the last one says the master stopped). */
  closeLogs(): Promise<void>;
}

/** Ends the master: drains or kills every worker, runs the stop hooks, removes the pid files, exits. */
export class Shutdown {
  readonly #context: MasterContext;
  readonly #links: ShutdownLinks;
  readonly #afterStop: Array<() => Promise<void> | void> = [];
  /** Settles when the master has finished; every later shutdown() or stop() joins it. */
  #ending: Promise<void> | undefined;

  constructor(context: MasterContext, links: ShutdownLinks) {
    this.#context = context;
    this.#links = links;
  }

  /** Runs `hook` when the master stops, before it exits (monitor close, …). */
  onStop(hook: () => Promise<void> | void): void {
    this.#afterStop.push(hook);
  }

  /** Ends the master in `mode`, exiting with `code`; a gave-up master keeps its state. */
  end(mode: EndMode, code: number): Promise<void> {
    if (this.#ending) {
      // A stop during a graceful shutdown (second SIGINT) hurries the workers along.
      if (mode === 'stopping') this.killAll();
      return this.#ending;
    }
    if (this.#context.state.current !== 'gave-up') this.#context.state.moveTo(mode);
    this.#ending = this.#run(mode, code);
    return this.#ending;
  }

  killAll(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (signal === 'SIGKILL') this.#context.host.emit('SIGKILL');
    for (const record of this.#context.table.all()) {
      if (record.state !== 'dead') record.worker.process.kill(signal);
    }
  }

  async #run(mode: EndMode, code: number): Promise<void> {
    const { options, table, eventLog, host } = this.#context;
    this.#links.spawner.cancelRespawns();
    this.#links.reloads.close(new Cluster2Error('ERR_CLUSTER2_RELOAD_UNAVAILABLE', 'the cluster is shutting down'));
    const records = table.all().filter((r) => r.state !== 'dead');
    const exited = Promise.all(records.map((r) => waitForExit(r.worker)));
    for (const record of records) record.planned = true;
    if (mode === 'shutting-down') {
      eventLog.add({ type: 'shutdown' });
      this.#context.emitSoon('shutdown');
      for (const record of records) {
        // A worker still loading may not hear IPC yet; it serves nothing, so a signal is enough.
        if (record.state === 'starting') {
          record.worker.process.kill('SIGTERM');
          record.markIntakeClosed();
        } else record.channel.send('drain', { delay: options.shutdownDelay });
        record.moveTo('draining');
      }
      const deadline = setTimeout(
        () => {
          this.#context.warn(`shutdownTimeout (${options.shutdownTimeout} ms) passed; killing the workers still running`);
          this.killAll();
        },
        options.shutdownDelay + options.shutdownTimeout + 1000,
      );
      deadline.unref();
      await exited;
      clearTimeout(deadline);
    } else {
      this.#links.sticky.close();
      this.killAll('SIGTERM');
      const escalate = setTimeout(() => this.killAll(), STOP_KILL_DELAY);
      escalate.unref();
      await exited;
      clearTimeout(escalate);
    }
    await this.#cleanUp();
    // With no worker left to wait for, everything above ran as microtasks: the events emitted on
    // the next tick ('giveup', the reason a start failed) would be lost to the exit. A turn of the
    // loop delivers them first.
    await new Promise((resolve) => setImmediate(resolve));
    eventLog.add({ type: 'stopped' });
    await this.#links.closeLogs();
    host.emit('stopped');
    host.exit(code);
  }

  async #cleanUp(): Promise<void> {
    this.#links.sticky.close();
    this.#links.stopServices();
    for (const hook of this.#afterStop) {
      try {
        await hook();
      } catch (error) {
        debug('stop hook failed: %s', (error as Error).message);
      }
    }
    this.#context.pidFiles?.removeAll([]);
  }
}

function waitForExit(worker: Worker): Promise<void> {
  if (worker.isDead()) return Promise.resolve();
  return new Promise((resolve) => worker.once('exit', () => resolve()));
}
