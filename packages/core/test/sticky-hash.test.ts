// Sticky sessions' hashing and slot bookkeeping, value by value.
import { describe, expect, it } from 'vitest';
import { StickySlots, hashKey, slotWeight } from '../src/primary/sticky.js';

describe('hashKey', () => {
  it('is 32-bit FNV-1a (the published test vectors)', () => {
    expect(hashKey('')).toBe(0x811c9dc5);
    expect(hashKey('a')).toBe(0xe40c292c);
    expect(hashKey('foobar')).toBe(0xbf9cf968);
  });
});

describe('slotWeight', () => {
  it('gives a key a distinct 32-bit weight per slot (murmur3 finaliser), the same on every call', () => {
    const key = hashKey('198.51.100.7');
    expect([0, 1, 2, 3].map((slot) => slotWeight(key, slot))).toEqual([4257501480, 3115931046, 205672338, 1470990650]);
    expect(slotWeight(key, 2)).toBe(205672338);
  });
});

describe('StickySlots bookkeeping', () => {
  it('places workers without a slot in the lowest empty slot, refilling a hole first', () => {
    const slots = new StickySlots<string>();
    expect(['w0', 'w1', 'w2'].map((w) => slots.place(w))).toEqual([0, 1, 2]);
    slots.remove('w1');
    expect(slots.slotOf('w1')).toBeUndefined();
    expect(slots.place('w3')).toBe(1);
    expect(slots.place('w4')).toBe(3);
  });

  it('forgetting a worker it never placed changes nothing', () => {
    const slots = new StickySlots<string>();
    slots.place('w0');
    expect(() => slots.remove('stranger')).not.toThrow();
    expect(slots.pick('k', () => true)).toBe('w0');
  });

  it('picks the slot with the highest weight for the key', () => {
    const slots = new StickySlots<string>();
    for (const w of ['w0', 'w1', 'w2', 'w3']) slots.place(w);
    // Weights of 198.51.100.7 per slot (above): slot 0 is highest, then 1, then 3.
    expect(slots.pick('198.51.100.7', () => true)).toBe('w0');
    expect(slots.pick('198.51.100.7', (w) => w !== 'w0')).toBe('w1');
    expect(slots.pick('198.51.100.7', (w) => w === 'w2' || w === 'w3')).toBe('w3');
    expect(slots.pick('198.51.100.7', () => false)).toBeUndefined();
  });
});
