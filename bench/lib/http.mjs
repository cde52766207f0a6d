// Tiny HTTP helpers over node:http for probes, polling and load with exact failure counts.
import http from 'node:http';

/** One GET on a fresh connection (`agent: false`): `{ status, pid, body }`; rejects on socket errors. */
export function get(port, path = '/', { agent = false, timeout = 5000, headers } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent, timeout, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode, pid: Number(res.headers['x-pid']) || undefined, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
  });
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check()` returns a truthy value (returned), or throws after `timeoutMs`. */
export async function pollUntil(check, { timeoutMs = 30_000, everyMs = 1, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * Fires a fresh-connection GET every `everyMs` (without waiting for the previous one, at most
 * 50 in flight) until one is answered by a pid `accept`s; resolves with ms since `t0`. A request
 * handed to a dying worker can hang, so the probes must not queue behind one another.
 */
export function firstAnswer(port, t0, accept, { everyMs = 2, timeoutMs = 30_000 } = {}) {
  return new Promise((resolve, reject) => {
    let inFlight = 0;
    let done = false;
    const deadline = setTimeout(() => finish(new Error(`no accepted answer within ${timeoutMs} ms`)), timeoutMs);
    const timer = setInterval(() => {
      if (done || inFlight >= 50) return;
      inFlight++;
      get(port, '/', { timeout: 2000 })
        .then(({ status, pid }) => status === 200 && accept(pid) && finish())
        .catch(() => {})
        .finally(() => inFlight--);
    }, everyMs);
    function finish(error) {
      if (done) return;
      done = true;
      const elapsed = performance.now() - t0;
      clearInterval(timer);
      clearTimeout(deadline);
      if (error) reject(error);
      else resolve(elapsed);
    }
  });
}

/** Samples fresh connections (`probe`, a GET by default) until `count` distinct worker pids answered; resolves with them. */
export async function workerPids(port, count, timeoutMs = 30_000, probe = get) {
  const seen = new Set();
  await pollUntil(
    async () => {
      const { status, pid } = await probe(port);
      if (status === 200 && pid) seen.add(pid);
      return seen.size >= count;
    },
    { timeoutMs, what: `${count} worker pids on port ${port}` },
  );
  return [...seen];
}

/**
 * A keep-alive load: `concurrency` loops, each sending one GET after another on a shared
 * keep-alive agent, without retries, until `stop()`. Every request is counted: ok (200) or
 * failed, with failures grouped by reason (status code or error code).
 */
export function startLoad(port, { concurrency = 20, timeout = 5000 } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const counts = { total: 0, ok: 0, failed: 0, reasons: {} };
  let running = true;
  const fail = (reason) => {
    counts.failed++;
    counts.reasons[reason] = (counts.reasons[reason] ?? 0) + 1;
  };
  const loop = async () => {
    while (running) {
      counts.total++;
      try {
        const { status } = await get(port, '/', { agent, timeout });
        if (status === 200) counts.ok++;
        else fail(`HTTP ${status}`);
      } catch (error) {
        fail(error.code ?? error.message);
        await sleep(1);
      }
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    counts,
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return counts;
    },
  };
}
