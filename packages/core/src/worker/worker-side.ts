import nodeCluster from 'node:cluster';
import { debuglog } from 'node:util';
import { Cluster2Error } from '../errors.js';
import type { EcvHost } from '../ecv/state.js';
import { Channel } from '../ipc/channel.js';
import type { WorkerChannel } from '../ipc/messages.js';
import { type ResolvedOptions, portsOf } from '../options.js';
import { ENV_ECV, ENV_LOG_CAPTURE, ENV_PORTS } from '../ipc/env.js';
import type { EcvSnapshot } from '../status.js';
import type { ServerFactory } from './factory.js';
import { WorkerRuntime, type RuntimeHost } from './runtime.js';
import { plainHttpEcv } from './plain-http-ecv.js';
import { onReadyMessage, runEntry } from './run-entry.js';
import type { AppEntry } from '../app-entry.js';
import type { DelegationClient } from '../delegation/worker.js';

const debug = debuglog('cluster2');

/** How long a worker waits for the master to answer a call, ms. */
const CALL_TIMEOUT = 10_000;

/** A worker process of a cluster: its runtime plus the link to the master. */
export class WorkerSide {
  readonly channel: WorkerChannel;
  readonly runtime: WorkerRuntime;
  readonly ecvHost: EcvHost;
  #ecv: EcvSnapshot;
  /** The master's answer to `ecv:get` while this worker still waits for it at start-up. */
  #ecvConfirming: Promise<EcvSnapshot> | undefined;

  readonly #delegation: DelegationClient;

  readonly #shutdownDelay: number;

  constructor(options: ResolvedOptions, host: RuntimeHost, delegation: DelegationClient) {
    this.#delegation = delegation;
    if (process.env[ENV_LOG_CAPTURE] !== undefined) writeOutputBeforeExit();
    this.#shutdownDelay = options.shutdownDelay;
    this.channel = new Channel({
      send: (message) => {
        if (process.connected) process.send!(message, undefined, {}, () => {});
      },
    });
    this.#ecv = readEnvJson<EcvSnapshot>(ENV_ECV) ?? { enabled: true, since: new Date().toString() };
    const ports = readEnvJson<number[]>(ENV_PORTS) ?? [...portsOf(options.port)];
    this.runtime = new WorkerRuntime(options, ports, this.channel, host);
    this.channel.handle('ecv', (snapshot) => {
      this.#ecv = snapshot;
    });
    // Master-to-worker messages travel in order, so whichever of a push and the start-up answer
    // arrives last is the current state.
    this.ecvHost = {
      options: options.ecv,
      monToken: options.monToken,
      snapshot: () => this.#ecvConfirming ?? this.#ecv,
      draining: () => this.runtime.draining,
      set: (enabled) => this.setEcv(enabled),
    };
  }

  /** Runs the app's factory and listens for it. */
  start(factory: ServerFactory): Promise<number[]> {
    return this.#serve(() => this.runtime.start(factory, plainHttpEcv(this.ecvHost)));
  }

  /** Runs an unmodified app's entry; its servers are adopted as they listen. */
  run(app: AppEntry): Promise<number[]> {
    onReadyMessage(() => this.runtime.ready());
    return this.#serve(() => this.runtime.adopt(() => runEntry(app.script, app.args), app.ecv ? plainHttpEcv(this.ecvHost) : undefined));
  }

  async #serve(startApp: () => Promise<number[]>): Promise<number[]> {
    // One dispatcher: cluster2's own messages (a sticky connection with its socket among them),
    // then delegation's. The app's own messages pass by both.
    process.on('message', (message, handle) => {
      if (!this.channel.dispatch(message, handle)) this.#delegation.onMessage(message);
    });
    // Ctrl-C reaches the whole process group; the master decides what happens to workers.
    process.on('SIGINT', () => {});
    // SIGTERM to the whole group (systemd, `kill -- -pgid`) must not drop requests: drain instead
    // of dying. The master's stop() still ends a worker within 2 s (SIGKILL follows).
    process.on('SIGTERM', () => void this.runtime.drain('signal', this.#shutdownDelay));
    if (!process.connected) {
      // The master died while this worker was still loading: nobody would ever route to it.
      process.exit(0);
    }
    // node:cluster's own 'disconnect' listener exits a worker at once when its master goes away
    // (unless the exit was planned), dropping every request in flight. Mark it planned first, so
    // the drain below runs instead.
    process.prependOnceListener('disconnect', () => {
      if (nodeCluster.worker) nodeCluster.worker.exitedAfterDisconnect = true;
    });
    // An IPC write racing the master's death (node:cluster acking a connection hand-off) fails
    // with EPIPE on cluster.worker; unhandled, that 'error' would crash the draining worker.
    nodeCluster.worker?.on('error', (error: Error) => debug('worker %d ipc error: %s', process.pid, error.message));
    // stderr is a pipe the master reads; once the master is gone, a write to it fails with EPIPE,
    // and that 'error' unhandled would crash a worker still draining its requests.
    process.stderr.on('error', (error: Error) => debug('worker %d stderr: %s', process.pid, error.message));
    process.once('disconnect', () => {
      this.channel.close(new Cluster2Error('ERR_CLUSTER2_MASTER_GONE', 'the master went away'));
      this.#delegation.close();
      void this.runtime.drain('master-gone');
    });
    // The switch may have flipped since the fork (CLUSTER2_ECV), while this process could not yet
    // hear the master's push: ask the master, and hold ECV answers (only those) until it replies.
    // Asked alongside listening rather than before it: the round trip is respawn and reload time.
    this.#ecvConfirming = this.channel
      .call('ecv:get', undefined, CALL_TIMEOUT)
      .catch(() => this.#ecv)
      .then((snapshot) => {
        this.#ecv = snapshot;
        this.#ecvConfirming = undefined;
        return snapshot;
      });
    try {
      return await startApp();
    } catch (error) {
      // The worker cannot serve: say why and exit so the master counts the death and backs off.
      // The app's own error keeps its stack (file and line of a broken deploy); cluster2's says enough.
      const detail = error instanceof Cluster2Error ? error.message : ((error as Error)?.stack ?? String(error));
      process.stderr.write(`cluster2: worker ${process.pid} failed to start: ${detail}\n`);
      process.exit(1);
    }
  }

  ecvSnapshot(): EcvSnapshot {
    return this.#ecv;
  }

  async setEcv(enabled: boolean): Promise<void> {
    await this.channel.call('ecv:set', { enabled }, CALL_TIMEOUT);
  }

  /** Asks the master to shut down, stop or reload. Shutdown and stop resolve once the master has them. */
  async ask(action: 'shutdown' | 'stop' | 'reload'): Promise<void> {
    if (action === 'reload') {
      await this.channel.call('reload', undefined, 10 * 60_000);
      return;
    }
    this.channel.send(action);
  }

  ready(): void {
    this.runtime.ready();
  }
}

function readEnvJson<T>(name: string): T | undefined {
  const raw = process.env[name];
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return undefined;
  }
}

/**
 * With log capture, stdout and stderr are pipes to the master, which Node writes asynchronously on
 * Linux: whatever is still queued when the app calls process.exit() (a crash report, the last lines
 * of a batch job) would be lost. Blocking pipes write it before the call returns, as a file or a
 * terminal would; the master reads them as fast as they come, so a write waits only for that.
 */
function writeOutputBeforeExit(): void {
  for (const stream of [process.stdout, process.stderr]) {
    const handle = (stream as unknown as { _handle?: { setBlocking?(blocking: boolean): number } })._handle;
    handle?.setBlocking?.(true);
  }
}
