/**
 * Sticky sessions' bookkeeping: which worker holds which slot, and which slot a client key hashes to.
 *
 * Keys hash over SLOTS, not pids. A successor (recycle, reload) takes its predecessor's slot, so
 * replacing one worker moves only that worker's clients; a crashed worker's slot is empty until
 * its respawn fills it, and meanwhile its clients spread over the other slots (rendezvous hashing
 * moves nothing else). Rendezvous (highest random weight) rather than a ring: no virtual nodes
 * to tune, an even spread for a handful of slots, and one pass over at most `noWorkers` slots.
 */
export class StickySlots<W> {
  /** Slot → its workers, oldest first: more than one only while a successor replaces its predecessor. */
  readonly #slots = new Map<number, W[]>();
  readonly #slotOf = new Map<W, number>();

  /**
   * Puts `worker` in `slot` (its predecessor's, or a crashed worker's being replaced) or, without
   * one, in the lowest slot holding no worker. Returns the slot.
   */
  place(worker: W, slot?: number): number {
    const chosen = slot ?? this.#lowestEmptySlot();
    const holders = this.#slots.get(chosen) ?? [];
    holders.push(worker);
    this.#slots.set(chosen, holders);
    this.#slotOf.set(worker, chosen);
    return chosen;
  }

  slotOf(worker: W): number | undefined {
    return this.#slotOf.get(worker);
  }

  /** Forgets a worker that exited. Its slot stays known (empty) until a worker is placed in it again. */
  remove(worker: W): void {
    const slot = this.#slotOf.get(worker);
    if (slot === undefined) return;
    this.#slotOf.delete(worker);
    const holders = this.#slots.get(slot)!.filter((w) => w !== worker);
    this.#slots.set(slot, holders);
  }

  /**
   * The worker `key` goes to: among the slots with an eligible worker, the one whose weight for
   * `key` is highest; within it, the newest eligible worker (a successor that listens takes over
   * from its predecessor at once). Undefined when no worker is eligible.
   */
  pick(key: string, eligible: (worker: W) => boolean): W | undefined {
    const keyHash = hashKey(key);
    let best: W | undefined;
    let bestWeight = -1;
    for (const [slot, holders] of this.#slots) {
      const target = newestEligible(holders, eligible);
      if (target === undefined) continue;
      const weight = slotWeight(keyHash, slot);
      if (weight > bestWeight) {
        bestWeight = weight;
        best = target;
      }
    }
    return best;
  }

  #lowestEmptySlot(): number {
    for (let slot = 0; ; slot++) {
      if ((this.#slots.get(slot)?.length ?? 0) === 0) return slot;
    }
  }
}

function newestEligible<W>(holders: readonly W[], eligible: (worker: W) => boolean): W | undefined {
  for (let i = holders.length - 1; i >= 0; i--) if (eligible(holders[i]!)) return holders[i];
  return undefined;
}

/** FNV-1a over the key's UTF-16 code units (keys are addresses and header values: short, mostly ASCII). */
export function hashKey(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** A key's weight for one slot: murmur3's finaliser over the key's hash mixed with the slot. */
export function slotWeight(keyHash: number, slot: number): number {
  let h = (keyHash ^ Math.imul(slot + 1, 0x9e3779b1)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
