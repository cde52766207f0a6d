// Shared by the reliability tests: their fixture app through the shared harness, a bind probe,
// and the summary rows every scenario records.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { Fixture as BaseFixture, type FixtureMessage as BaseMessage } from '../support/fixture.js';
import { artifactsDir, type SummaryRow } from './summary.js';

export { isAlive, killAll, tempDir, until } from '../support/fixture.js';
export { artifactsDir, type SummaryRow };
export const fixturesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

export interface FixtureMessage extends BaseMessage {
  /** Heartbeats (FIXTURE_HEARTBEATS=1): the master's view of each worker. */
  workers?: { pid: number; state: string; inFlight: number }[];
}

/** The reliability fixture app (fixtures/app.mjs unless `script` names another) as a child process. */
export class Fixture extends BaseFixture<FixtureMessage> {
  constructor(options: object, env: Record<string, string> = {}, script = 'app.mjs') {
    super(path.join(fixturesDir, script), options, { env });
  }

  /** Resolves with the ready report once the master said every worker listens. */
  async ready(timeout = 20_000): Promise<FixtureMessage & { ports: number[] }> {
    return (await this.readyReport(timeout)) as FixtureMessage & { ports: number[] };
  }
}

/** True when a fresh server can bind 127.0.0.1:port (nothing, orphan or not, holds it). */
export function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Appends a row for the end-of-run table (see summary.global.ts, which names this run's file). */
export function recordSummary(row: SummaryRow): void {
  fs.mkdirSync(artifactsDir, { recursive: true });
  const file = inject('reliabilitySummaryFile') ?? path.join(artifactsDir, 'reliability-summary.jsonl');
  fs.appendFileSync(file, `${JSON.stringify(row)}\n`);
  console.log(`[reliability] ${row.scenario}: sent ${row.sent}, succeeded ${row.succeeded}, failed ${row.failed}${row.notes ? ` (${row.notes})` : ''}`);
}
