// Helpers for the adapter contract suite: its fixture apps through the shared harness.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Fixture as BaseFixture, type FixtureMessage as BaseMessage } from '../support/fixture.js';

export { holdUntilReleased, inFlightAtLeast, killAll, request, tempDir, until } from '../support/fixture.js';

export const fixturesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

export interface FixtureMessage extends BaseMessage {
  /** In the ready report: the worker pids the master's status listed then. */
  workers?: number[];
}

/** An adapter fixture app from fixtures/ as a child process. */
export class Fixture extends BaseFixture<FixtureMessage> {
  constructor(script: string, options: object, env: Record<string, string> = {}) {
    super(path.join(fixturesDir, script), options, { env });
  }

  /** Resolves with the app port once the master reported that every worker listens. */
  async ready(timeout = 20_000): Promise<number> {
    return (await this.readyReport(timeout)).ports![0]!;
  }

  /** The workers the master reported at start, and every worker it reported listening since. */
  override workerPids(): number[] {
    const pids = new Set<number>(this.events('ready').flatMap((m) => m.workers ?? []));
    for (const pid of this.pids('listening')) pids.add(pid);
    return [...pids];
  }
}

/** Counts equal values: `{ 200: 2000 }`. */
export function tally(values: (string | number)[]): Record<string, number> {
  return values.reduce<Record<string, number>>((acc, v) => ({ ...acc, [v]: (acc[v] ?? 0) + 1 }), {});
}
