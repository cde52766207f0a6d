export { Cluster2Error, ErrorCodes, type ErrorCode, type SerializedError } from './errors.js';
export {
  DEFAULTS,
  resolveOptions,
  type ClusterOptions,
  type EcvOptions,
  type Logger,
  type ResolvedOptions,
  type RestartOptions,
} from './options.js';
