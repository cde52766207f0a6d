import http from 'node:http';
import type { ClusterStatus } from '../status.js';
import { findRunningMaster, listWorkerPids, type MasterInfo } from '../primary/pidfiles.js';
import { formatPidsOnly, formatStatus } from './format.js';
import type { CliIo } from './io.js';

/** How long `status` waits for the monitor, ms. */
export const STATUS_TIMEOUT_MS = 2000;
/** A status document larger than this is refused (a wrong port could stream anything), bytes. */
const MAX_STATUS_BYTES = 16 * 1024 * 1024;

/** A wildcard bind address is not something to connect to: use loopback of the same family. */
export function connectHost(host: string): string {
  if (host === '' || host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host.replace(/^\[(.*)\]$/, '$1');
}

/** Where `status` reads the monitor's monToken from (a flag would show it in `ps`). */
export const TOKEN_ENV = 'CLUSTER2_MON_TOKEN';

/** GETs `/api/status` from the monitor (with `token` as a bearer token); rejects on any failure within `timeoutMs`. */
export function fetchStatus(monitor: { host: string; port: number }, timeoutMs = STATUS_TIMEOUT_MS, token?: string): Promise<ClusterStatus> {
  const headers = { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: connectHost(monitor.host), port: monitor.port, path: '/api/status', signal: AbortSignal.timeout(timeoutMs), headers },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_STATUS_BYTES) req.destroy(new Error('status document too large'));
          else chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => {
          if (res.statusCode === 401 || res.statusCode === 403) {
            reject(new Error(`monitor answered HTTP ${res.statusCode}: set ${TOKEN_ENV} to its monToken`));
            return;
          }
          if (res.statusCode !== 200) {
            reject(new Error(`monitor answered HTTP ${res.statusCode}`));
            return;
          }
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as ClusterStatus);
          } catch {
            reject(new Error('monitor sent malformed JSON'));
          }
        });
      },
    );
    req.on('error', reject);
  });
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
