// Runs nghttp2's h2load against a loopback h2c URL and parses its report.
import { execFile } from 'node:child_process';

const UNIT_MS = { us: 0.001, ms: 1, s: 1000 };

/** "11.38ms" → 11.38 (ms). */
function toMs(text) {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text ?? '');
  return m ? Number(m[1]) * UNIT_MS[m[2]] : NaN;
}

/**
 * Parses h2load's output: req/s, requests done / succeeded / failed / errored / timed out,
 * 2xx answers (every response received, including those that landed after a timed run's end),
 * and the mean and max time per request, ms.
 */
export function parseH2load(text) {
  const finished = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(text);
  const requests = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(text);
  const time = /time for request:\s+(\S+)\s+(\S+)\s+(\S+)/.exec(text);
  return {
    rps: Number(finished?.[1] ?? NaN),
    done: Number(requests?.[3] ?? NaN),
    succeeded: Number(requests?.[4] ?? NaN),
    failed: Number(requests?.[5] ?? NaN),
    errored: Number(requests?.[6] ?? NaN),
    timeout: Number(requests?.[7] ?? NaN),
    answered2xx: Number(/status codes: (\d+) 2xx/.exec(text)?.[1] ?? NaN),
    meanMs: toMs(time?.[3]),
    maxMs: toMs(time?.[2]),
  };
}

/**
 * `h2load -c<clients> -m<streams> -D<seconds> <url>` (timed) or `-n<requests>` instead of a
 * duration; `http://` means h2c with prior knowledge. Only 127.0.0.1 URLs are accepted so a
 * benchmark can never load another host.
 */
export function runH2load(url, { clients = 16, streams = 16, seconds = 5, requests, threads = 1 } = {}) {
  if (!url.startsWith('http://127.0.0.1:')) throw new Error(`h2load target must be http://127.0.0.1:…, got ${url}`);
  const args = [`-t${threads}`, `-c${clients}`, `-m${streams}`, requests ? `-n${requests}` : `-D${seconds}`, url];
  return new Promise((resolve, reject) => {
    execFile('h2load', args, { timeout: ((requests ? 0 : seconds) + 30) * 1000, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error?.code === 'ENOENT') return reject(new Error('h2load is not installed: apt-get install nghttp2-client'));
      if (error) return reject(new Error(`h2load failed: ${error.message}\n${stderr}`));
      const parsed = parseH2load(stdout);
      if (!Number.isFinite(parsed.rps) || !Number.isFinite(parsed.succeeded))
        return reject(new Error(`could not parse h2load output:\n${stdout.slice(-2000)}`));
      resolve(parsed);
    });
  });
}
