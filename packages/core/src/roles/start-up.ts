import { Cluster2Error, isErrorCode } from '../errors.js';
import { startMonitor } from '../monitor/lazy.js';
import type { MonitorSource } from '../monitor/source.js';
import type { ResolvedOptions } from '../options.js';
import { exitProcess, type MonitorAddress } from './role.js';

/** A process with the master's duties: the supervisor, or the single process (`cluster: false`). */
export interface ServingMaster extends MonitorSource {
  claimPidFiles(): void;
  writePidFiles(monitor: MonitorAddress | null): void;
  onStop(hook: () => Promise<void> | void): void;
}

/**
 * Master duties between the port check and the first fork: pids directory, monitor, then pid files.
 * `onMonitor` learns the monitor's address before the pid files name it.
 */
export async function beforeServing(master: ServingMaster, options: ResolvedOptions, onMonitor: (address: MonitorAddress) => void): Promise<void> {
  const { monitor, monHost, monPort, monToken, logs } = options;
  // Before the monitor: a master refused its pids directory leaves nothing running behind.
  master.claimPidFiles();
  if (!monitor) {
    master.writePidFiles(null);
    return;
  }
  // The monitor's code loads here, not at the top: workers never run it, and every ms of their
  // start-up is respawn and reload time.
  const { monitorConnections, eventStreams, eventStreamLifetime } = options.limits;
  const server = await startMonitor({
    source: master,
    host: monHost,
    port: monPort,
    token: monToken,
    logsDir: logs.dir === false ? undefined : logs.dir,
    maxConnections: monitorConnections,
    sse: { maxClients: eventStreams, lifetimeMs: eventStreamLifetime },
  });
  master.onStop(() => server.close());
  onMonitor(server.address);
  master.writePidFiles(server.address);
}

interface ErrorReporter {
  emit(event: string, ...args: unknown[]): boolean;
  listenerCount(event: string): number;
}

/**
 * Port busy, or a pids directory in use or unwritable: reject and emit 'error'; with nobody
 * listening for 'error', print and exit (98 for the port, 1 for the pids directory).
 */
export async function fatalOnStartError(starting: Promise<number[]>, reporter: ErrorReporter): Promise<number[]> {
  try {
    return await starting;
  } catch (error) {
    const exitCode = fatalExitCode(error);
    if (exitCode !== undefined && reporter.listenerCount('error') === 0) {
      process.stderr.write(`cluster2: ${(error as Error).message} (${(error as Cluster2Error).code})\n`);
      exitProcess(exitCode);
    } else if (reporter.listenerCount('error') > 0) {
      process.nextTick(() => reporter.emit('error', error));
    }
    throw error;
  }
}

/** Start-up errors that end a master nobody listens to for 'error', with their exit code. */
function fatalExitCode(error: unknown): number | undefined {
  if (isErrorCode(error, 'ERR_CLUSTER2_PORT_IN_USE')) return 98;
  if (isErrorCode(error, 'ERR_CLUSTER2_PIDS_IN_USE') || isErrorCode(error, 'ERR_CLUSTER2_PIDS_UNWRITABLE')) return 1;
  return undefined;
}
