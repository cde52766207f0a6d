import { Cluster2Error } from '../errors.js';
import { DEFAULTS, resolveOptions, type ClusterOptions, type EcvOptions } from '../options.js';

/**
 * The per-worker options a framework adapter's mounting call takes (`app.use(cluster2(opts))`,
 * `app.register(cluster2Plugin, opts)`, `cluster2Koa(app, opts)`): the same names and defaults as
 * the Cluster options.
 */
export interface MountOptions {
  /** ECV routes (`path`, `control`, `monitor`, `validator`, `timeout`, `disabledStatus`); unset fields come from the serving Cluster. @default { path: '/ecv', control: false } */
  ecv?: EcvOptions;
  /** Idle socket timeout (ms), applied when the app is started with the adapter's `listen()`. @default 30000 */
  timeout?: number;
  /** While draining, a socket idle this long is ended (ms), applied when started with the adapter's `listen()`. @default 250 */
  idleGrace?: number;
}

/** What an adapter's mounting call registered: its own options and the path its ECV routes answer on. */
export interface MountedEcv {
  readonly options: MountOptions;
  readonly path: string;
}

const MOUNT_KEYS: readonly (keyof MountOptions)[] = ['ecv', 'timeout', 'idleGrace'];

/** The mount a framework's own `listen()` assumes when nothing was mounted: no options, ECV at the default path. */
export const DEFAULT_MOUNT: MountedEcv = Object.freeze({ options: Object.freeze({}), path: DEFAULTS.ecv.path });

/**
 * Validates a mounting call's options once, with the same rules and messages as the Cluster
 * options, and returns its own copy of them. `call` names the mounting call in the error
 * (`cluster2()`, `cluster2Plugin`); `tolerated` lists keys the framework itself puts in a plugin's
 * options (Fastify's `prefix`, …): they are accepted and dropped. Throws a `Cluster2Error`:
 * ERR_CLUSTER2_UNKNOWN_OPTION for a key it does not take, ERR_CLUSTER2_INVALID_OPTION for a bad value.
 */
export function resolveMountOptions(options: object, call: string, tolerated: readonly string[] = []): MountOptions {
  for (const key of Object.keys(options)) {
    if (!(MOUNT_KEYS as readonly string[]).includes(key) && !tolerated.includes(key)) {
      throw new Cluster2Error(
        'ERR_CLUSTER2_UNKNOWN_OPTION',
        `unknown option "${key}" for ${call}; it takes ${MOUNT_KEYS.join(', ')} (give every other option to listen())`,
      );
    }
  }
  const { ecv, timeout, idleGrace } = options as MountOptions;
  resolveOptions({ ecv, timeout, idleGrace });
  // Only the keys given: a mount option left out must not hide the Cluster's (see withMountOptions).
  const own: MountOptions = {};
  if (ecv !== undefined) own.ecv = ecv;
  if (timeout !== undefined) own.timeout = timeout;
  if (idleGrace !== undefined) own.idleGrace = idleGrace;
  return own;
}

/**
 * For a framework whose ECV routes are registered at mount time (Fastify, Koa): they cannot move
 * afterwards, so an `ecv.path` given only to `listen()` must be the one mounted. `call` names the
 * mounting call, `fix` where the path should go instead. Throws ERR_CLUSTER2_INVALID_OPTION.
 */
export function assertMountedEcvPath(mounted: MountedEcv, options: ClusterOptions, call: string, fix: string): void {
  const path = options.ecv?.path;
  if (mounted.options.ecv?.path === undefined && path !== undefined && path !== mounted.path) {
    throw new Cluster2Error(
      'ERR_CLUSTER2_INVALID_OPTION',
      `option "ecv.path" of listen() is "${path}" but ${call} serves ECV at "${mounted.path}"; give ecv.path to ${fix}`,
    );
  }
}

/** Cluster options with a mounting call's per-worker options merged in: where both carry one, the mounting call's wins. */
export function withMountOptions(options: ClusterOptions, mount: MountOptions): ClusterOptions {
  const merged: ClusterOptions = { ...options };
  if (mount.timeout !== undefined) merged.timeout = mount.timeout;
  if (mount.idleGrace !== undefined) merged.idleGrace = mount.idleGrace;
  if (mount.ecv !== undefined) merged.ecv = { ...options.ecv, ...mount.ecv };
  return merged;
}
