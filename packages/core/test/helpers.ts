// Core's clustered tests run fixture apps from test/fixtures through the shared harness.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliIo } from '../src/cli/io.js';
import { Fixture as BaseFixture } from '../../../test-e2e/support/fixture.js';

export {
  selfSignedCertDir,
  holdUntilReleased,
  inFlightAtLeast,
  isAlive,
  killAll,
  request,
  tempDir,
  until,
  type Answer,
  type FixtureMessage,
} from '../../../test-e2e/support/fixture.js';

/** An in-memory `CliIo`: what a CLI command wrote to stdout and stderr, and stdout's non-empty lines. */
export function collector(): { io: CliIo; out: () => string; err: () => string; lines: () => string[] } {
  let out = '';
  let err = '';
  return {
    io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } },
    out: () => out,
    err: () => err,
    lines: () => out.split('\n').filter(Boolean),
  };
}

export const fixturesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** A fixture master from test/fixtures running as a child process, with the events it reported. */
export class Fixture extends BaseFixture {
  /**
   * `options` go over loopback defaults with OS-chosen ports (port 0, monPort 0): a fixture that
   * forgot them would take the library defaults 3000/3001 and fail whenever anything else holds them.
   */
  constructor(script: string, options: object, env: Record<string, string> = {}, cwd?: string, detached = false) {
    super(path.join(fixturesDir, script), { port: 0, host: '127.0.0.1', monPort: 0, ...options }, { env, cwd, detached });
  }

  /** Resolves with the app port once the master reported that every worker listens. */
  async ready(timeout = 20_000): Promise<number> {
    return (await this.readyReport(timeout)).ports![0]!;
  }
}
