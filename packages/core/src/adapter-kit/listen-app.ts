import nodeCluster from 'node:cluster';
import { Cluster } from '../cluster.js';
import { Cluster2Error } from '../errors.js';
import { withMountOptions, type MountOptions } from './mount.js';
import { resolveOptions, type ClusterOptions } from '../options.js';
import type { ServerOrServers } from '../worker/factory.js';

/** What a framework adapter's `listen()` takes: the app, or a function that builds it (called only where the app serves). */
export type AppOrBuilder<App> = App | (() => App | Promise<App>);

/** An app made ready to serve by its adapter (mounted, booted), in a worker or with `cluster: false`. */
export interface PreparedApp {
  /** The mounting call's per-worker options found on the app (`{}` when the adapter mounted itself). */
  mount: MountOptions;
  /** The server(s) for core to listen with, given the Cluster that serves them. */
  server(cluster: Cluster): ServerOrServers;
}

/** How an adapter tells its framework's app from a function that builds one, and prepares it to serve. */
export interface AppAdapter<App> {
  /** Shown in errors: "an Express app". */
  readonly describe: string;
  isApp(value: unknown): value is App;
  prepare(app: App): PreparedApp | Promise<PreparedApp>;
}

/**
 * The one way every framework adapter's `listen()` runs an app. The same script runs in the master
 * and in every worker, but the app serves only in workers: so the master builds, mounts and boots
 * nothing of it (a Fastify plugin that opens a database pool would otherwise open one more in the
 * master, never to be closed), and only runs the Cluster. In a worker (and with `cluster: false`)
 * the builder runs, the adapter prepares the app, and the Cluster is made with the mounting call's
 * options merged in, which the master never needs (they are per-worker: ECV routes, timeouts).
 */
export async function listenApp<App>(source: AppOrBuilder<App>, options: ClusterOptions, adapter: AppAdapter<App>): Promise<Cluster> {
  const isBuilder = typeof source === 'function' && !adapter.isApp(source);
  if (!isBuilder && !adapter.isApp(source)) {
    throw notAnApp(`listen() takes ${adapter.describe} or a function that builds one (called only in workers)`, source);
  }
  const resolved = resolveOptions(options);
  if (resolved.cluster && nodeCluster.isPrimary) {
    const cluster = new Cluster(options);
    await cluster.listen(() => {
      // Unreachable: core calls the factory only where a server listens, never in the master.
      throw new Cluster2Error('ERR_CLUSTER2_WRONG_ROLE', 'the master never builds the app');
    });
    return cluster;
  }
  const built = isBuilder ? source() : source;
  // A Fastify instance is thenable, and awaiting it loads its plugins: only a promise is awaited.
  const app = adapter.isApp(built) ? built : await built;
  if (!adapter.isApp(app)) throw notAnApp(`the function given to listen() must return ${adapter.describe} (or a promise of one)`, app);
  const prepared = await adapter.prepare(app);
  const cluster = new Cluster(withMountOptions(options, prepared.mount));
  await cluster.listen(() => prepared.server(cluster));
  return cluster;
}

function notAnApp(expected: string, value: unknown): Cluster2Error {
  const got = value === undefined ? 'undefined' : value === null ? 'null' : Object.prototype.toString.call(value);
  return new Cluster2Error('ERR_CLUSTER2_INVALID_FACTORY', `${expected}; got ${got}`);
}
