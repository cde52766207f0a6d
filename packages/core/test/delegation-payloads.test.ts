// Coalescing and the ttl cache hand one run's result to every identical request, so "identical"
// must be exact: a sloppy comparison (none at all, or JSON text, which makes NaN equal null and
// a Date equal its ISO string) would hand callers each other's results. In-process (cluster: false)
// here; across real workers in delegation-cluster.test.ts.
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Cluster } from '../src/index.js';

/** Payloads that JSON.stringify (with sorted keys) cannot all tell apart, in-process. */
const IN_PROCESS_PAYLOADS: unknown[] = [
  { n: NaN },
  { n: null },
  { n: 1 },
  { n: '1' },
  { n: [1] },
  {},
  { n: undefined },
  { n: 0 },
  { n: -0 },
  { n: 1n },
  { n: '1n' },
  { n: new Date(0) },
  { n: new Date(0).toISOString() },
  { n: new Map([[1, 2]]) },
  { n: {} },
  { n: new Set([1]) },
  [1, null],
  [1, undefined],
  null,
];

function expectEachOwn(results: unknown[], payloads: unknown[]): void {
  const mismatches = results.flatMap((result, i) =>
    isDeepStrictEqual(result, payloads[i % payloads.length]) ? [] : [{ i, result, payload: payloads[i % payloads.length] }],
  );
  expect(mismatches).toEqual([]);
}

describe('delegation coalescing compares payloads exactly (cluster: false)', () => {
  it('concurrent requests with payloads JSON cannot tell apart (NaN/null, 0/-0, Date/string, Map/{}, 1n/"1n"…) each get their own payload back, live and from the ttl cache', async () => {
    const c = new Cluster({ cluster: false });
    const runs: unknown[] = [];
    c.handle(
      'echo',
      async (payload: unknown) => {
        runs.push(payload);
        await new Promise((resolve) => setTimeout(resolve, 50));
        return payload;
      },
      { ttl: 60_000 },
    );
    // Every payload twice, all at once: the second of each pair joins the first's run.
    const asked = [...IN_PROCESS_PAYLOADS, ...IN_PROCESS_PAYLOADS];
    const live = await Promise.all(asked.map((payload) => c.delegate('echo', payload, { timeout: 5000 })));
    expectEachOwn(live, asked);
    expect(runs).toHaveLength(IN_PROCESS_PAYLOADS.length);
    // Identical requests now: answered from the cache, still each with its own payload.
    const cached = await Promise.all(asked.map((payload) => c.delegate('echo', payload, { timeout: 5000 })));
    expectEachOwn(cached, asked);
    expect(runs).toHaveLength(IN_PROCESS_PAYLOADS.length);
    // Key order does not make a payload different: it joins the cached { a, b }.
    expect(await c.delegate('echo', { a: 1, b: 2 })).toEqual({ a: 1, b: 2 });
    expect(await c.delegate('echo', { b: 2, a: 1 })).toEqual({ a: 1, b: 2 });
    expect(runs).toHaveLength(IN_PROCESS_PAYLOADS.length + 1);
  });
});
