// Runs wrk against a loopback URL and parses its --latency report.
import { execFile } from 'node:child_process';

const UNIT_MS = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/** "1.52ms" → 1.52 (ms). */
function toMs(text) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  return m ? Number(m[1]) * UNIT_MS[m[2]] : NaN;
}

/** Parses wrk's output: requests/s, p50/p90/p99 (ms), request count, socket errors, non-2xx/3xx. */
export function parseWrk(text) {
  const pct = (p) => toMs(new RegExp(`^\\s*${p}%\\s+(\\S+)`, 'm').exec(text)?.[1] ?? '');
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN),
    p50: pct(50),
    p90: pct(90),
    p99: pct(99),
    requests: Number(/(\d+) requests in/.exec(text)?.[1] ?? NaN),
    socketErrors: errors ? errors.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0),
  };
}

/**
 * `wrk -t1 -c<connections> -d<seconds>s --latency <url>`; only 127.0.0.1 URLs are accepted so a
 * benchmark can never load another host. `headers` adds `-H` lines (e.g. `Connection: close`).
 */
export function runWrk(url, { connections = 50, seconds = 5, threads = 1, headers = [], script } = {}) {
  if (!url.startsWith('http://127.0.0.1:')) throw new Error(`wrk target must be http://127.0.0.1:…, got ${url}`);
  const args = [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--latency'];
  for (const h of headers) args.push('-H', h);
  if (script) args.push('-s', script);
  args.push(url);
  return new Promise((resolve, reject) => {
    execFile('wrk', args, { timeout: (seconds + 30) * 1000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`wrk failed: ${error.message}\n${stderr}`));
      const parsed = parseWrk(stdout);
      if (!Number.isFinite(parsed.rps)) return reject(new Error(`could not parse wrk output:\n${stdout}`));
      resolve(parsed);
    });
  });
}
