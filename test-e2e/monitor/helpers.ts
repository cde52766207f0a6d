// Shared by the monitor end-to-end tests: their fixture app through the shared harness, the
// built CLI, and readers of the monitor's status.
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Fixture as BaseFixture, request } from '../support/fixture.js';

export { isAlive, request, tempDir, until, type Answer } from '../support/fixture.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const fixturesDir = path.join(here, 'fixtures');
/** The repository root (test-e2e/..). */
export const repoRoot = path.resolve(here, '..', '..');
/** The built `cluster2` executable. */
export const cliPath = path.join(repoRoot, 'packages', 'core', 'dist', 'cli.js');

/** Where a ready fixture serves: the app port and the monitor port (both on 127.0.0.1). */
export interface Endpoints {
  port: number;
  monPort: number;
}

/** A monitored fixture app (fixtures/monitored-app.mjs unless `script` names another) as a child process. */
export class Fixture extends BaseFixture {
  constructor(options: object, { script = 'monitored-app.mjs', cwd }: { script?: string; cwd?: string } = {}) {
    super(path.join(fixturesDir, script), options, { cwd });
  }

  /** Resolves once the master reported that every worker listens. */
  async ready(timeout = 30_000): Promise<Endpoints> {
    const ready = await this.readyReport(timeout);
    if (!ready.monitor) throw new Error('fixture reported no monitor address');
    return { port: ready.ports![0]!, monPort: ready.monitor.port };
  }
}

/** `n` GETs of `/` on the app, `concurrency` at a time; every one must answer 200. */
export async function traffic(port: number, n: number, concurrency = 8): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < n) {
      next += 1;
      const answer = await request(port, '/');
      if (answer.status !== 200) throw new Error(`app answered ${answer.status}: ${answer.body}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
}

/** Minimal shape of `GET /api/status` the tests read. */
export interface StatusDoc {
  master: { pid: number; state: string };
  workers: Array<{ pid: number; id: number; state: string; lastHeartbeat?: number; requests?: number }>;
  totals: { workers: number; requests: number; totalConnections: number };
  ecv: { state: 'enabled' | 'disabled'; since: string };
}

/** `token`: the monitor's monToken, when it has one (sent as `Authorization: Bearer`). */
export async function getStatus(monPort: number, token?: string): Promise<StatusDoc> {
  const answer = await request(monPort, '/api/status', token ? { headers: { authorization: `Bearer ${token}` } } : {});
  if (answer.status !== 200) throw new Error(`/api/status answered ${answer.status}: ${answer.body}`);
  return JSON.parse(answer.body) as StatusDoc;
}

/** Pids of the workers the monitor shows as listening. */
export async function listeningPids(monPort: number, token?: string): Promise<number[]> {
  const status = await getStatus(monPort, token);
  return status.workers
    .filter((w) => w.state === 'listening')
    .map((w) => w.pid)
    .sort((a, b) => a - b);
}

/** True once nothing accepts connections on 127.0.0.1:`port`. */
export function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, signal: AbortSignal.timeout(2000) }, (res) => {
      res.resume();
      resolve(false);
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}
