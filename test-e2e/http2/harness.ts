// Shared by the HTTP/2 suite: its fixture apps as child processes through the shared harness.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Fixture as BaseFixture, type FixtureMessage as BaseMessage } from '../support/fixture.js';

export { holdUntilReleased, isAlive, killAll, selfSignedCertDir, tempDir, until } from '../support/fixture.js';
export const fixturesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

export interface FixtureMessage extends BaseMessage {
  /** Heartbeats (FIXTURE_HEARTBEATS=1): the master's view of each worker. */
  workers?: { pid: number; connections: number; inFlight: number; requests: number; idleCloses: number }[];
}

/** An HTTP/2 fixture app (fixtures/h2-app.mjs unless `script` names another) as a child process. */
export class Fixture extends BaseFixture<FixtureMessage> {
  constructor(options: object, env: Record<string, string> = {}, script = 'h2-app.mjs') {
    super(path.join(fixturesDir, script), options, { env });
  }

  /** Resolves with the app's port once the master said every worker listens. */
  async ready(timeout = 20_000): Promise<number> {
    return (await this.readyReport(timeout)).ports![0]!;
  }

  /** Runs `reload()` in the master and waits for it to finish (a failed reload fails the test). */
  async reload(): Promise<void> {
    const result = await this.call('reload');
    if (result.event !== 'called') throw new Error(`reload failed: ${result.code} ${result.message}`);
  }
}
