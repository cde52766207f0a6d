export { Cluster, type ClusterEvents, type Role } from './cluster.js';
export { Cluster2Error, ErrorCodes, type ErrorCode, type SerializedError } from './errors.js';
export {
  DEFAULTS,
  resolveOptions,
  type ClusterOptions,
  type EcvOptions,
  type EcvValidatorContext,
  type Logger,
  type ResolvedOptions,
  type RestartOptions,
  type StickyOptions,
} from './options.js';
export type { ServerFactory, ServerOrServers } from './worker/factory.js';
export type { WorkerStats } from './worker/stats.js';
export type { ClusterStatus, ClusterTotals, LifecycleEvent, RecycleReason, WorkerState, WorkerStatus } from './monitor/source.js';
export { answerEcv, ecvRequestOf, matchEcvRoute, type EcvAnswer, type EcvHost, type EcvRequest, type EcvRoute } from './ecv/handler.js';
export { isLoopbackAddress as isLoopback } from './access.js';
export type { EcvSnapshot } from './primary/ecv-state.js';
export { createEcvResponder, markEcvMounted, type EcvResponder } from './ecv/responder.js';
export { onDrained, onDraining, servingContext, type DrainedHook, type DrainingHook, type ServingContext } from './context.js';
export type { DelegateOptions, DelegationHandler, HandleOptions, HandlerContext, PrimaryDelegation, WorkerDelegation } from './delegation/types.js';
export { startMonitor } from './monitor/lazy.js';
export type { MonitorOptions, MonitorServer } from './monitor/server.js';
export type { MonitorSource, EcvStatus, MasterState } from './monitor/source.js';
export { assertMountedEcvPath, DEFAULT_MOUNT, resolveMountOptions, withMountOptions, type MountedEcv, type MountOptions } from './mount.js';
export { listenApp, type AppAdapter, type AppOrBuilder, type PreparedApp } from './listen-app.js';
