// `cluster2 start` as a contender: the CLI (the package's bin) runs an unmodified app in the
// foreground, and `cluster2 reload --pids <dir>` drives a rolling reload and waits for its outcome.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { appPath, startScript } from './proc.mjs';

const require = createRequire(import.meta.url);

/** Path to the `cluster2` bin of the built @cluster2/core. */
export function cluster2Bin() {
  return path.join(path.dirname(require.resolve('@cluster2/core/package.json')), 'dist', 'cli.js');
}

const SERVING = /^cluster2: serving .* on port (\d+) with (\d+) workers? \(master (\d+)/;

/**
 * `PORT=<port> cluster2 start <app> -w <workers> --no-monitor [flags]` in its own process group:
 * the handle of proc.mjs's startScript, plus `pidsDir` when `pids` is asked for (for `reload`),
 * and `serving()`, which resolves with `{ port, workers, masterPid }` from the line the CLI prints
 * once the app serves.
 */
export function startCluster2(app, { port, workers = 2, pids = false, flags = [], env = {} } = {}) {
  const pidsDir = pids ? fs.mkdtempSync(path.join(os.tmpdir(), 'cluster2-bench-pids-')) : undefined;
  const args = ['start', appPath(app), '-w', String(workers), '--no-monitor', ...(pidsDir ? ['--pids', pidsDir] : ['--no-pids']), ...flags];
  const handle = startScript(cluster2Bin(), { PORT: port, ...env }, { args, label: `cluster2 start ${app}` });
  const stop = handle.stop;
  return Object.assign(handle, {
    pidsDir,
    async serving(timeoutMs = 60_000) {
      const { line } = await handle.waitFor((m) => SERVING.test(m.line ?? ''), { timeoutMs, what: 'the "cluster2: serving" line' });
      const [, p, w, master] = SERVING.exec(line);
      return { port: Number(p), workers: Number(w), masterPid: Number(master) };
    },
    async stop(signal, graceMs) {
      try {
        return await stop(signal, graceMs);
      } finally {
        if (pidsDir) fs.rmSync(pidsDir, { recursive: true, force: true });
      }
    },
  });
}

/** `cluster2 reload --pids <dir> --json`: resolves with the reload's outcome once it ended; rejects unless it succeeded. */
export function reloadCluster2(pidsDir, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [cluster2Bin(), 'reload', '--pids', pidsDir, '--json'], { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`cluster2 reload failed (exit ${error.code}): ${stderr || stdout}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()));
    });
  });
}
