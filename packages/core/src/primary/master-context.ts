import type { DelegationStats } from '../status.js';
import type { ResolvedOptions } from '../options.js';
import type { EventLog } from './event-log.js';
import type { MasterLogs } from './logs/master-logs.js';
import type { MasterStateMachine } from './master-state.js';
import type { PidFiles } from './pidfiles.js';
import type { WorkerTable } from './workers.js';

export interface SupervisorHost {
  /** Emits on the user's Cluster. */
  emit(event: string, ...args: unknown[]): boolean;
  listenerCount(event: string): number;
  exit(code: number): void;
  /** Called for every worker message that is not one of cluster2's envelopes (delegation). */
  onForeignMessage(pid: number, message: unknown): void;
  onWorkerExit(pid: number): void;
  /** What delegation holds and refused, for the status. */
  delegationStats?(): DelegationStats;
}

/** What every part of the master (spawner, reloads, shutdown, ECV broadcast, sticky gate) shares. */
export interface MasterContext {
  readonly options: ResolvedOptions;
  readonly host: SupervisorHost;
  readonly table: WorkerTable;
  readonly state: MasterStateMachine;
  readonly eventLog: EventLog;
  /** Captured worker output and the master's own log lines. */
  readonly logs: MasterLogs;
  readonly pidFiles: PidFiles | undefined;
  /** Worker replacements since start, by reason ('crash' for unexpected deaths). */
  readonly restarts: Record<string, number>;
  /** A warning: event log, then the 'warning' event on the next tick. */
  warn(message: string, pid?: number): void;
  /** Events caused by the call just made fire on the next tick, so listeners added after the call still see them. */
  emitSoon(event: string, ...args: unknown[]): void;
}
