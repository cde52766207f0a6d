// The fixture apps' half of the harness in fixture.ts: run in a fixture's master, it reports the
// Cluster's events to the test over IPC and runs the test's `{ call, id }` requests.
import fs from 'node:fs';

/** Sends `message` to the test, stamped with the time. */
export function report(message) {
  process.send?.({ ...message, time: Date.now() });
}

/** Errors do not survive IPC: reported as `{ code, message }`. */
const plain = (value) => (value instanceof Error ? { code: value.code, message: value.message } : value);

/**
 * In the master: reports every event in `events` as `{ event, args }`, and answers each
 * `{ call, id }` from the test by running `c[call]()`, then reporting `called` or `call-failed`
 * with the same id. Does nothing in a worker.
 */
export function driveFromTest(c, events) {
  if (c.isWorker) return;
  for (const event of events) c.on(event, (...args) => report({ event, args: args.map(plain) }));
  process.on('message', async ({ call, id }) => {
    if (typeof call !== 'string') return;
    try {
      await c[call]();
      report({ event: 'called', call, id });
    } catch (error) {
      report({ event: 'call-failed', call, id, code: error.code, message: error.message });
    }
  });
}

let release;
/**
 * For a fixture's `/hold` route, in a worker: resolves once the file FIXTURE_RELEASE names exists,
 * which the test creates with `holdUntilReleased().release()` (fixture.ts).
 */
export function released() {
  if (!process.env.FIXTURE_RELEASE) throw new Error('/hold needs FIXTURE_RELEASE (the file whose creation releases held requests)');
  release ??= new Promise((resolve) => {
    const poll = setInterval(() => {
      if (!fs.existsSync(process.env.FIXTURE_RELEASE)) return;
      clearInterval(poll);
      resolve();
    }, 20);
  });
  return release;
}
