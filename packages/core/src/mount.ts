import type { ClusterOptions, EcvOptions } from './options.js';

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

/** Cluster options with a mounting call's per-worker options merged in: where both carry one, the mounting call's wins. */
export function withMountOptions(options: ClusterOptions, mount: MountOptions): ClusterOptions {
  const merged: ClusterOptions = { ...options };
  if (mount.timeout !== undefined) merged.timeout = mount.timeout;
  if (mount.idleGrace !== undefined) merged.idleGrace = mount.idleGrace;
  if (mount.ecv !== undefined) merged.ecv = { ...options.ecv, ...mount.ecv };
  return merged;
}
