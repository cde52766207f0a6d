// The unmodified apps under cluster.run(): their master as a fixture child process (events over
// IPC), the apps' own ports, and the load driver of the reliability suite.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Fixture, request } from '../support/fixture.js';

export { killAll, until, request, type Fixture } from '../support/fixture.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const appsDir = path.join(here, 'apps');

export interface RunSpec {
  /** File under apps/. */
  entry: string;
  /** Cluster options (over monitor: false, pids: false). */
  options?: object;
  /** run() options. */
  run?: object;
  /** Environment of the master (the workers inherit it). */
  env?: Record<string, string>;
}

/** Starts `run-master.mjs` serving `spec.entry`; PORT=0 unless the spec sets it. */
export function runApp(spec: RunSpec): Fixture {
  return new Fixture(path.join(here, 'fixtures', 'run-master.mjs'), spec.options ?? {}, {
    env: { PORT: '0', FIXTURE_ENTRY: spec.entry, FIXTURE_RUN: JSON.stringify(spec.run ?? {}), ...spec.env },
  });
}

export async function readyPorts(fixture: Fixture, timeout = 30_000): Promise<number[]> {
  const ready = await fixture.readyReport(timeout);
  return ready.ports!;
}

/** GET /whoami from distinct workers until `count` of them answered (bounded tries). */
export async function whoamis(port: number, count: number): Promise<Map<number, { instance: string; workerId: string }>> {
  const seen = new Map<number, { instance: string; workerId: string }>();
  for (let i = 0; i < 200 && seen.size < count; i++) {
    const answer = await request(port, '/whoami', { headers: { connection: 'close' } });
    const body = JSON.parse(answer.body) as { pid: number; instance: string; workerId: string };
    seen.set(body.pid, body);
  }
  return seen;
}
