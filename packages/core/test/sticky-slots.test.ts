import { describe, expect, it } from 'vitest';
import { Cluster } from '../src/index.js';
import { resolveOptions } from '../src/options.js';
import { headerValue } from '../src/primary/sticky-acceptor.js';
import { StickySlots } from '../src/primary/sticky.js';

const everyone = () => true;
const keys = Array.from({ length: 10_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);

function slotsWith(count: number): { slots: StickySlots<string>; workers: string[] } {
  const slots = new StickySlots<string>();
  const workers = Array.from({ length: count }, (_, i) => `w${i}`);
  for (const worker of workers) slots.place(worker);
  return { slots, workers };
}

function assignment(slots: StickySlots<string>, eligible: (w: string) => boolean = everyone): Map<string, string> {
  return new Map(keys.map((key) => [key, slots.pick(key, eligible)!]));
}

describe('sticky slots (rendezvous hashing over worker slots)', () => {
  it('spreads 10,000 keys over 4 slots, each within ±15 % of an even share', () => {
    const { slots, workers } = slotsWith(4);
    const counts = new Map(workers.map((w) => [w, 0]));
    for (const target of assignment(slots).values()) counts.set(target, counts.get(target)! + 1);
    for (const count of counts.values()) {
      expect(count).toBeGreaterThanOrEqual(2500 * 0.85);
      expect(count).toBeLessThanOrEqual(2500 * 1.15);
    }
  });

  it('spreads evenly over 16 slots too (within ±20 % of 625 each)', () => {
    const { slots } = slotsWith(16);
    const counts = new Map<string, number>();
    for (const target of assignment(slots).values()) counts.set(target, (counts.get(target) ?? 0) + 1);
    expect(counts.size).toBe(16);
    for (const count of counts.values()) expect(Math.abs(count - 625)).toBeLessThanOrEqual(125);
  });

  it('sends the same key to the same slot every time', () => {
    const { slots } = slotsWith(4);
    const first = assignment(slots);
    const again = assignment(slots);
    expect([...again]).toEqual([...first]);
    // A fresh table with the same slots agrees: the hash depends on key and slot only, not on pids or order.
    expect([...assignment(slotsWith(4).slots)]).toEqual([...first]);
  });

  it('moves only the keys of a slot whose worker is gone, and they spread over the others', () => {
    const { slots } = slotsWith(4);
    const before = assignment(slots);
    slots.remove('w2');
    const after = assignment(slots);
    let moved = 0;
    const receivers = new Map<string, number>();
    for (const [key, target] of before) {
      if (target === 'w2') {
        moved++;
        receivers.set(after.get(key)!, (receivers.get(after.get(key)!) ?? 0) + 1);
      } else {
        expect(after.get(key)).toBe(target);
      }
    }
    expect(moved).toBeGreaterThan(2000);
    expect([...receivers.keys()].sort()).toEqual(['w0', 'w1', 'w3']);
    for (const count of receivers.values()) expect(count).toBeGreaterThan((moved / 3) * 0.75);
  });

  it("gives a successor its predecessor slot: exactly that slot's keys move to it, once it is eligible", () => {
    const { slots } = slotsWith(4);
    const before = assignment(slots);
    const slot = slots.slotOf('w1')!;
    slots.place('w1-successor', slot);
    // Starting: not eligible, the predecessor keeps its keys.
    const starting = assignment(slots, (w) => w !== 'w1-successor');
    expect([...starting]).toEqual([...before]);
    // Listening: the successor takes over, before the predecessor is even gone.
    const listening = assignment(slots);
    for (const [key, target] of before) expect(listening.get(key)).toBe(target === 'w1' ? 'w1-successor' : target);
    slots.remove('w1');
    expect([...assignment(slots)]).toEqual([...listening]);
  });

  it('refills an emptied slot first and gives its keys back to the respawn', () => {
    const { slots } = slotsWith(4);
    const before = assignment(slots);
    slots.remove('w0');
    expect(slots.place('respawn')).toBe(0);
    for (const [key, target] of assignment(slots)) expect(target).toBe(before.get(key) === 'w0' ? 'respawn' : before.get(key));
  });

  it('picks nobody when no worker is eligible', () => {
    const { slots } = slotsWith(2);
    expect(slots.pick('k', () => false)).toBeUndefined();
  });
});

describe('sticky header parsing', () => {
  const head = 'GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For:  10.1.2.3, 10.0.0.1 \r\nx-empty:';
  it('finds a header case-insensitively and trims its value', () => {
    expect(headerValue(head, 'x-forwarded-for')).toBe('10.1.2.3, 10.0.0.1');
    expect(headerValue(head, 'host')).toBe('x');
  });
  it('reports a missing or empty header as undefined (the address is used instead)', () => {
    expect(headerValue(head, 'x-real-ip')).toBeUndefined();
    expect(headerValue(head, 'x-empty')).toBeUndefined();
    // The request line is not a header, even when it has a colon.
    expect(headerValue('GET http://a:1/ HTTP/1.1', 'get http')).toBeUndefined();
  });
});

describe('sticky option', () => {
  it('resolves false, true and { header } (lower-cased)', () => {
    expect(resolveOptions({}).sticky).toBe(false);
    expect(resolveOptions({ sticky: true }).sticky).toEqual({ header: undefined });
    expect(resolveOptions({ sticky: { header: 'X-Forwarded-For' } }).sticky).toEqual({ header: 'x-forwarded-for' });
  });

  it.each([
    [{ sticky: 'yes' }, /"sticky" must be true, false or \{ header: string \}; received "yes"/],
    [{ sticky: { header: '' } }, /"sticky.header" must be an HTTP header name/],
    [{ sticky: { header: 'x forwarded' } }, /"sticky.header" must be an HTTP header name/],
    [{ sticky: true, scheduling: 'os' }, /option "sticky" must be false when option "scheduling" is "os"/],
  ])('rejects %j with ERR_CLUSTER2_INVALID_OPTION', (options, message) => {
    expect(() => new Cluster(options as never)).toThrow(
      expect.objectContaining({ code: 'ERR_CLUSTER2_INVALID_OPTION', message: expect.stringMatching(message) }),
    );
  });

  it('rejects an unknown key under sticky', () => {
    expect(() => new Cluster({ sticky: { header: 'x', hash: 'ip' } } as never)).toThrow(expect.objectContaining({ code: 'ERR_CLUSTER2_UNKNOWN_OPTION' }));
  });

  it('accepts sticky with cluster: false, where it changes nothing', () => {
    expect(new Cluster({ cluster: false, sticky: true, scheduling: 'os' }).options.sticky).toEqual({ header: undefined });
  });
});
