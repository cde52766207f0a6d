// The pure parts of delegation: request validation (what a malformed worker message is told)
// and the coalescing table's payload keys, cache and unregistering.
import { describe, expect, it } from 'vitest';
import { HandlerTable, payloadKey, type Outcome } from '../src/delegation/handlers.js';
import {
  ALWAYS_RESERVED,
  DEFAULT_DELEGATE_TIMEOUT,
  MAX_DELEGATE_TIMEOUT,
  isRecord,
  isValidTimeout,
  parseRequest,
  pickFields,
} from '../src/delegation/protocol.js';

const reserved = new Set([...ALWAYS_RESERVED, 'listening']);

describe('parseRequest', () => {
  it('fills the defaults of a bare request, and takes explicit nulls (0.4 clients) as left out', () => {
    const bare = { type: 'delegate', delegate: 'x' };
    expect(parseRequest(bare, reserved)).toEqual({
      message: bare,
      event: 'x',
      expect: undefined,
      matches: [],
      timeout: DEFAULT_DELEGATE_TIMEOUT,
      notification: false,
      targets: [],
    });
    const nulls = { type: 'delegate', delegate: 'x', expect: null, matches: null, notification: null, targets: null, timeout: null };
    expect(parseRequest(nulls, reserved)).toMatchObject({
      expect: undefined,
      matches: [],
      timeout: DEFAULT_DELEGATE_TIMEOUT,
      notification: false,
      targets: [],
    });
  });

  it('keeps what a request sets, and reads the 0.4 spelling timeOut', () => {
    const full = { delegate: 'x', expect: 'y', matches: ['id'], notification: true, targets: [7, 8], timeOut: 250 };
    expect(parseRequest(full, reserved)).toMatchObject({ event: 'x', expect: 'y', matches: ['id'], timeout: 250, notification: true, targets: [7, 8] });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['no delegate', {}, '"delegate" must be a non-empty string, got undefined'],
    ['an empty delegate', { delegate: '' }, '"delegate" must be a non-empty string, got ""'],
    ['a numeric delegate', { delegate: 5 }, '"delegate" must be a non-empty string, got number'],
    ['a reserved delegate', { delegate: 'error' }, '"delegate" may not name the reserved event "error"'],
    ['a reserved delegate (newListener)', { delegate: 'newListener' }, '"delegate" may not name the reserved event "newListener"'],
    ['a reserved delegate (removeListener)', { delegate: 'removeListener' }, '"delegate" may not name the reserved event "removeListener"'],
    ['an empty expect', { delegate: 'x', expect: '' }, '"expect" must be a non-empty string, got ""'],
    ['an array expect', { delegate: 'x', expect: ['y'] }, '"expect" must be a non-empty string, got an array'],
    ['expect equal to delegate', { delegate: 'x', expect: 'x' }, '"expect" must differ from "delegate" ("x")'],
    ['a reserved expect', { delegate: 'x', expect: 'listening' }, '"expect" may not name the reserved event "listening"'],
    ['matches not of strings', { delegate: 'x', matches: ['id', 3] }, '"matches" must be an array of field names, got an array'],
    ['matches as a string', { delegate: 'x', matches: 'id' }, '"matches" must be an array of field names, got "id"'],
    ['a string notification', { delegate: 'x', notification: 'yes' }, '"notification" must be a boolean, got "yes"'],
    ['a zero pid in targets', { delegate: 'x', targets: [7, 0] }, '"targets" must be an array of pids, got an array'],
    ['a fractional pid in targets', { delegate: 'x', targets: [1.5] }, '"targets" must be an array of pids, got an array'],
    ['targets as an object', { delegate: 'x', targets: { 0: 7 } }, '"targets" must be an array of pids, got object'],
    ['a zero timeout', { delegate: 'x', timeout: 0 }, `"timeout" must be a number of ms from 1 to ${MAX_DELEGATE_TIMEOUT}, got number`],
    ['a string timeout', { delegate: 'x', timeout: '5' }, `"timeout" must be a number of ms from 1 to ${MAX_DELEGATE_TIMEOUT}, got "5"`],
  ])('refuses %s with a message naming the field', (_name, message, refusal) => {
    expect(parseRequest(message, reserved)).toBe(refusal);
  });

  it('accepts an empty matches and targets list', () => {
    expect(parseRequest({ delegate: 'x', matches: [], targets: [] }, reserved)).toMatchObject({ matches: [], targets: [] });
  });
});

describe('isValidTimeout', () => {
  it.each([1, 1.5, 10_000, MAX_DELEGATE_TIMEOUT])('accepts %s', (value) => expect(isValidTimeout(value)).toBe(true));
  it.each([0, 0.5, -1, MAX_DELEGATE_TIMEOUT + 1, NaN, Infinity, '5', null, undefined])('refuses %s', (value) => expect(isValidTimeout(value)).toBe(false));
});

describe('isRecord and pickFields', () => {
  it('a record is a non-null, non-array object', () => {
    expect([{}, { a: 1 }, [], null, 'x', 1, undefined].map(isRecord)).toEqual([true, true, false, false, false, false, false]);
  });

  it('copies only the fields the request has (an absent field stays absent, undefined stays undefined)', () => {
    expect(pickFields({ id: 1, kind: undefined, other: 2 }, ['id', 'kind', 'missing'])).toStrictEqual({ id: 1, kind: undefined });
  });
});

describe('payloadKey', () => {
  it('sorts object keys at every depth, keeps array order, and tells bigint from number', () => {
    expect(payloadKey({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}');
    expect(payloadKey([2, 1])).toBe('[2,1]');
    expect(payloadKey({ n: 1n })).toBe('{"n":"1n"}');
    expect(payloadKey(5n)).toBe('"5n"');
    expect(payloadKey(undefined)).toBe('undefined');
    expect(payloadKey(null)).toBe('null');
    expect(payloadKey('x')).toBe('"x"');
  });

  it('puts cyclic payloads in one bucket instead of throwing', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(payloadKey(cyclic)).toBe('\u0000unkeyable');
  });
});

describe('HandlerTable', () => {
  const context = { pid: 1, event: 'e' };
  /** A settle callback and the promise of the first outcome it receives. */
  const settled = () => {
    let settle!: (o: Outcome) => void;
    const done = new Promise<Outcome>((resolve) => (settle = resolve));
    return { settle, done };
  };

  it('throws for an event without a handler, naming it', () => {
    expect(() => new HandlerTable().run('nobody', 1, context, () => {})).toThrow('no handler for "nobody"');
  });

  it('without ttl runs the handler again for the next identical request', async () => {
    const table = new HandlerTable();
    let calls = 0;
    table.register('e', () => ++calls, 0);
    for (const expected of [1, 2]) {
      const s = settled();
      table.run('e', { k: 1 }, context, s.settle);
      expect(await s.done).toEqual({ result: expected });
    }
  });

  it('with ttl caches results but never errors: a failed run is retried by the next request', async () => {
    const table = new HandlerTable();
    let calls = 0;
    table.register(
      'e',
      () => {
        calls++;
        if (calls === 1) throw Object.assign(new Error('first fails'), { code: 'E_FIRST' });
        return calls;
      },
      60_000,
    );
    const first = settled();
    table.run('e', 'k', context, first.settle);
    expect(await first.done).toMatchObject({ error: { code: 'E_FIRST', message: 'first fails' } });
    const second = settled();
    table.run('e', 'k', context, second.settle);
    expect(await second.done).toEqual({ result: 2 });
    const third = settled();
    table.run('e', 'k', context, third.settle);
    expect(await third.done).toEqual({ result: 2 });
    expect(calls).toBe(2);
    table.clear();
  });

  it('a run that ends after its handler was unregistered does not fill the cache of the next handler', async () => {
    const table = new HandlerTable();
    let release!: () => void;
    const unregister = table.register('e', () => new Promise((resolve) => (release = () => resolve('old'))), 60_000);
    const old = settled();
    table.run('e', 'k', context, old.settle);
    await new Promise((resolve) => setImmediate(resolve));
    unregister();
    table.register('e', () => 'new', 60_000);
    release();
    expect(await old.done).toEqual({ result: 'old' });
    const next = settled();
    table.run('e', 'k', context, next.settle);
    expect(await next.done).toEqual({ result: 'new' });
    table.clear();
  });

  it('an unregister function left over from an earlier handler does not remove its successor', async () => {
    const table = new HandlerTable();
    const stale = table.register('e', () => 'first', 0);
    stale();
    table.register('e', () => 'second', 0);
    stale();
    expect(table.has('e')).toBe(true);
    const s = settled();
    table.run('e', 'k', context, s.settle);
    expect(await s.done).toEqual({ result: 'second' });
  });

  it('a request that joins a run whose only other waiter left still shares that run', async () => {
    const table = new HandlerTable();
    let calls = 0;
    let release!: () => void;
    table.register(
      'e',
      () => {
        calls++;
        return new Promise((resolve) => (release = () => resolve(calls)));
      },
      0,
    );
    const leaving = settled();
    const detachLeaving = table.run('e', 'k', context, leaving.settle);
    const staying = settled();
    table.run('e', 'k', context, staying.settle);
    // One of two waiters leaves (its timeout): the run stays joinable for the other and newcomers.
    detachLeaving();
    const newcomer = settled();
    table.run('e', 'k', context, newcomer.settle);
    await new Promise((resolve) => setImmediate(resolve));
    release();
    expect(await staying.done).toEqual({ result: 1 });
    expect(await newcomer.done).toEqual({ result: 1 });
    expect(calls).toBe(1);
  });
});
