import { isAlive, readReloadOutcome, signalMaster } from '../primary/pidfiles.js';
import type { CliIo } from './io.js';

/** `cluster2 reload` gives up waiting for the outcome after this long by default, ms. */
export const RELOAD_WAIT_MS = 10 * 60_000;
const POLL_MS = 100;

/** Exit codes of `cluster2 reload` beyond the shared ones. */
export const ReloadExitCode = Object.freeze({
  /** The reload ran and failed; the workers that served before it still serve. */
  RELOAD_FAILED: 4,
  /** No outcome within `--timeout`: the reload may still be running. */
  TIMED_OUT: 5,
});

export interface ReloadRequest {
  pids: string;
  json: boolean;
  wait: boolean;
  timeoutMs: number;
}

/**
 * Sends SIGUSR2 and, unless told not to wait, follows the reload through the master's
 * `reload.json` until one that started after the signal ends. Reloads asked for while one runs
 * are queued and the queued one starts after it, so the first reload to start after the signal
 * is the one that covers this deploy.
 */
export async function runReload(request: ReloadRequest, io: CliIo): Promise<number> {
  const sentAt = Date.now();
  const master = await signalMaster(request.pids, 'SIGUSR2', false);
  if (!request.wait) {
    io.stdout.write(
      request.json ? `${JSON.stringify({ command: 'reload', pid: master.pid, signal: 'SIGUSR2', waited: false })}\n` : `sent SIGUSR2 to master ${master.pid}\n`,
    );
    return 0;
  }
  if (!request.json) io.stdout.write(`sent SIGUSR2 to master ${master.pid}; waiting for the reload to finish\n`);
  const deadline = sentAt + request.timeoutMs;
  for (;;) {
    const outcome = readReloadOutcome(request.pids);
    if (outcome && outcome.startedAt >= sentAt && outcome.state !== 'running') {
      if (request.json) io.stdout.write(`${JSON.stringify({ command: 'reload', pid: master.pid, ...outcome })}\n`);
      if (outcome.state === 'succeeded') {
        if (!request.json) io.stdout.write(`reload finished in ${outcome.endedAt! - outcome.startedAt} ms: every worker replaced\n`);
        return 0;
      }
      io.stderr.write(`cluster2: reload failed (${outcome.error?.code}): ${outcome.error?.message}\nthe workers that served before the reload still serve\n`);
      return ReloadExitCode.RELOAD_FAILED;
    }
    if (!isAlive(master.pid)) {
      io.stderr.write(`cluster2: master ${master.pid} exited before the reload finished\n`);
      return 1;
    }
    if (Date.now() > deadline) {
      io.stderr.write(`cluster2: no reload outcome within ${request.timeoutMs} ms; it may still be running (see cluster2 status)\n`);
      return ReloadExitCode.TIMED_OUT;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
