import nodeCluster from 'node:cluster';
import path from 'node:path';
import { Cluster } from '../cluster.js';
import { ENV_DETACHED, ENV_START_CWD } from '../ipc/env.js';
import { flagHelp, START_FLAGS } from '../start/flags.js';
import { loadStartSpec } from '../start/spec.js';
import { detachedLogs, reportFailedStarts, reportServing, runDetached } from './detach.js';
import type { CliIo } from './io.js';
import { watchForChanges } from './watch.js';

/** `cluster2 start --help`: the start command's own flags come from the same table its parser reads. */
export const START_USAGE = `Usage: cluster2 start [<entry>] [options] [-- <app arguments>]

Runs <entry> (.js, .mjs, .cjs; .ts where node strips types) unchanged in a master and N workers.
The app listens on its own port; each worker adopts its servers, so reloads and shutdowns drain
them without dropping a request. Stays in the foreground (systemd, Docker, Kubernetes) unless
--detach. Signals: SIGTERM/SIGINT graceful shutdown, SIGUSR2/SIGHUP rolling reload, SIGQUIT stop.

Options:
${flagHelp()
  .slice(0, START_FLAGS.length)
  .map(({ flag, description }) => `  ${flag.padEnd(24)}${description}`)
  .join('\n')}
  -h, --help              show this help

Every option of the library has a flag too: --shutdown-timeout <ms>, --max-memory <MiB>,
--restart-max-restarts <n>, --no-monitor, --pids <dir>, … (docs/configuration.md lists them).

In each worker NODE_APP_INSTANCE and CLUSTER2_WORKER_ID hold its index, 0 to N-1, which a
replacement inherits. Control a running master with cluster2 status|reload|shutdown|stop.
`;

/**
 * `cluster2 start <entry>`: this process becomes the master of the app's workers, in the
 * foreground (systemd, Docker, Kubernetes) or, with --detach, in the background. node:cluster forks
 * each worker with the same command line, so a worker comes through here too: it reads the same
 * flags and config (from the directory the command ran in) and runs the app.
 */
export async function runStart(argv: string[], io: CliIo): Promise<number> {
  const invokedFrom = process.env[ENV_START_CWD] ?? process.cwd();
  const spec = await loadStartSpec(argv, invokedFrom);
  if (spec.detach && nodeCluster.isPrimary && process.env[ENV_DETACHED] === undefined) return runDetached(argv, spec, io);
  process.env[ENV_START_CWD] = invokedFrom;
  process.chdir(spec.cwd);
  // The app picks its own ports: port 0 keeps the library's default app port (3000) out of the
  // monitor-port check, as the spec's validation did.
  const detached = process.env[ENV_DETACHED] !== undefined;
  const logs = detached ? detachedLogs(spec.options.logs) : spec.options.logs;
  const app = spec.name ?? path.basename(spec.script).replace(/\.[^.]*$/, '');
  const cluster = new Cluster({
    ...spec.options,
    port: 0,
    logs: logs === 'inherit' ? logs : { app, ...(typeof logs === 'string' ? { dir: logs } : logs) },
    ...(spec.waitReady && { readySignal: true }),
  });
  if (cluster.isMaster) {
    if (spec.name !== undefined) process.title = `cluster2 ${spec.name}`;
    // With log capture, the master writes these itself, labelled, to the log destinations.
    if (!cluster.options.logs.capture) reportLifecycle(cluster, io);
    if (process.env[ENV_DETACHED] !== undefined) reportFailedStarts(cluster);
  }
  const ports = await cluster.run(spec.script, { args: spec.args, nodeArgs: spec.nodeArgs, env: spec.env, ecv: spec.ecv });
  if (!cluster.isMaster) return 0;
  const monitor = cluster.monitorAddress;
  io.stdout.write(
    `cluster2: serving ${spec.name ?? spec.script} on port ${ports.join(', ')} with ${cluster.options.noWorkers} workers (master ${process.pid}${
      monitor ? `, monitor http://${monitor.host}:${monitor.port}` : ''
    })\n`,
  );
  if (spec.watch) watchForChanges(cluster, spec, io);
  // The command that launched this master in the background waits for this word, then returns.
  if (process.env[ENV_DETACHED] !== undefined) reportServing(ports);
  return 0;
}

/** One line on stderr per thing an operator needs to see (a worker exited, was replaced, failed to start; a reload failed). */
function reportLifecycle(cluster: Cluster, io: CliIo): void {
  const say = (line: string) => io.stderr.write(`cluster2: ${line}\n`);
  cluster.on('recycled', (pid, reason) => say(`worker ${pid} is being replaced (${reason})`));
  cluster.on('died', (pid, code, signal) => say(`worker ${pid} exited (${signal ?? `code ${code}`})`));
  cluster.on('warning', ({ pid, message }) => say(message.startsWith(`worker ${pid} `) ? message : `worker ${pid}: ${message}`));
  cluster.on('reloadFailed', (error) => say(`${error.message} (${error.code}); the workers that served before it still serve`));
  cluster.on('forkFailed', (error) => say(`${error.message} (${error.code})`));
  cluster.on('giveup', (reason) => say(`gave up: ${reason}`));
}
