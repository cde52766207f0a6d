export { Cluster, type ClusterEvents, type Role } from './cluster.js';
export type { RunOptions } from './app-entry.js';
export { Cluster2Error, ErrorCodes, type ErrorCode, type SerializedError } from './errors.js';
export {
  DEFAULTS,
  resolveOptions,
  type ClusterOptions,
  type EcvOptions,
  type EcvValidatorContext,
  type Logger,
  type LogsOptions,
  type ResolvedOptions,
  type RestartOptions,
  type StickyOptions,
} from './options.js';
export type { ServerFactory, ServerOrServers } from './worker/factory.js';
export type {
  ClusterStatus,
  ClusterTotals,
  EcvSnapshot,
  EcvStatus,
  LifecycleEvent,
  LogQuery,
  LogRecord,
  LogStream,
  MasterState,
  RecycleReason,
  WorkerState,
  WorkerStats,
  WorkerStatus,
} from './status.js';
export { answerEcv, ecvRequestOf, matchEcvRoute, type EcvAnswer, type EcvRequest, type EcvRoute } from './ecv/handler.js';
export { isLoopbackAddress as isLoopback } from './access.js';
export type { EcvHost } from './ecv/state.js';
export { createEcvResponder, type EcvResponder } from './adapter-kit/ecv-responder.js';
export { markEcvMounted } from './ecv/mounted.js';
export { onDrained, onDraining, servingContext, type DrainedHook, type DrainingHook, type ServingContext } from './context.js';
export type { DelegateOptions, DelegationHandler, HandleOptions, HandlerContext, PrimaryDelegation, WorkerDelegation } from './delegation/types.js';
export { startMonitor } from './monitor/lazy.js';
export type { MonitorOptions, MonitorServer } from './monitor/server.js';
export type { MonitorSource } from './monitor/source.js';
export { assertMountedEcvPath, DEFAULT_MOUNT, resolveMountOptions, withMountOptions, type MountedEcv, type MountOptions } from './adapter-kit/mount.js';
export { listenApp, type AppAdapter, type AppOrBuilder, type PreparedApp } from './adapter-kit/listen-app.js';
