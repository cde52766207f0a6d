import type { ClusterStatus } from '../status.js';
import { findRunningMaster, listWorkerPids, type MasterInfo } from '../primary/pidfiles.js';
import { formatPidsOnly, formatStatus } from './format.js';
import type { CliIo } from './io.js';
import { monitorJson, TOKEN_ENV, type MonitorAddress } from './monitor-client.js';

/** How long `status` waits for the monitor, ms. */
export const STATUS_TIMEOUT_MS = 2000;

/** GETs `/api/status` from the monitor (with `token` as a bearer token); rejects on any failure within `timeoutMs`. */
export function fetchStatus(monitor: MonitorAddress, timeoutMs = STATUS_TIMEOUT_MS, token?: string): Promise<ClusterStatus> {
  return monitorJson<ClusterStatus>(monitor, 'GET', '/api/status', token, timeoutMs);
}

/** The `--json` document when there is no monitor to ask: what the pid files know. */
function pidsOnlyDocument(master: MasterInfo, workerPids: number[]): unknown {
  return {
    master: { pid: master.pid, ports: master.ports, host: master.host, startedAt: master.startedAt },
    workers: workerPids.map((pid) => ({ pid })),
    monitor: null,
  };
}

/**
 * `cluster2 status`: the monitor's view when master.json names one, else the pid files'.
 * Throws ERR_CLUSTER2_NOT_RUNNING when no master runs in `pidsDir`.
 */
export async function runStatus(pidsDir: string, json: boolean, io: CliIo, token = process.env[TOKEN_ENV]): Promise<number> {
  const master = findRunningMaster(pidsDir);
  if (master.monitor !== null) {
    try {
      const status = await fetchStatus(master.monitor, STATUS_TIMEOUT_MS, token || undefined);
      io.stdout.write(json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
      return 0;
    } catch (error) {
      const where = `${master.monitor.host}:${master.monitor.port}`;
      io.stderr.write(`cluster2: monitor at ${where} did not answer (${(error as Error).message}); showing pid files only\n`);
    }
  }
  const workerPids = listWorkerPids(pidsDir).sort((a, b) => a - b);
  io.stdout.write(json ? `${JSON.stringify(pidsOnlyDocument(master, workerPids), null, 2)}\n` : formatPidsOnly(master, workerPids));
  return 0;
}
