import { describe, expect, it } from 'vitest';
import { Channel, localPair, type Kind } from '../src/ipc/channel.js';

interface Asks {
  add: Kind<{ a: number; b: number }, number>;
  note: Kind<{ text: string }>;
  fail: Kind<undefined, void>;
}

/** A channel whose endpoint records what it writes and can be made to throw (a dead pipe). */
function recording() {
  const written: Array<{ message: unknown; handle: unknown }> = [];
  let broken: Error | undefined;
  const channel = new Channel<Record<string, never>, Asks>({
    send(message, handle, sent) {
      if (broken) throw broken;
      written.push({ message, handle });
      sent?.(null);
    },
  });
  return { channel, written, breakWith: (error: Error) => (broken = error) };
}

describe('Channel', () => {
  it('answers a call with the handler’s return value, and a one-way message with nothing', async () => {
    const [asker, answerer] = localPair<Record<string, never>, Asks>();
    const notes: string[] = [];
    answerer.handle('add', ({ a, b }) => a + b).handle('note', ({ text }) => void notes.push(text));
    answerer.handle('fail', () => {
      throw new Error('handler exploded');
    });
    asker.send('note', { text: 'hello' });
    await expect(asker.call('add', { a: 2, b: 3 }, 1000)).resolves.toBe(5);
    expect(notes).toEqual(['hello']);
    await expect(asker.call('fail', undefined, 1000)).rejects.toThrow('handler exploded');
  });

  it('rejects a call to a kind the other side does not handle, and one nobody answers in time', async () => {
    const [asker] = localPair<Record<string, never>, Asks>();
    await expect(asker.call('add', { a: 1, b: 1 }, 1000)).rejects.toMatchObject({ code: 'ERR_CLUSTER2_INVALID_ARGUMENT' });
    const silent = new Channel<Record<string, never>, Asks>({ send: () => {} });
    await expect(silent.call('add', { a: 1, b: 1 }, 50)).rejects.toMatchObject({ code: 'ERR_CLUSTER2_IPC_TIMEOUT' });
    // Neither a refused nor a timed-out call stays behind in the pending table.
    expect(asker.pendingCalls).toBe(0);
    expect(silent.pendingCalls).toBe(0);
  });

  it('passes the socket that came with a message to its handler', () => {
    const received: unknown[] = [];
    const channel = new Channel<{ conn: Kind<{ server: number }> }>({ send: () => {} });
    channel.handle('conn', (data, handle) => void received.push(data.server, handle));
    const socket = { fake: 'handle' };
    expect(channel.dispatch({ cluster2: 1, kind: 'conn', data: { server: 1 } }, socket)).toBe(true);
    expect(received).toEqual([1, socket]);
  });

  it('leaves messages that are not its own to the caller', () => {
    const channel = new Channel({ send: () => {} });
    expect(channel.dispatch({ type: 'delegate', event: 'x' })).toBe(false);
    expect(channel.dispatch('plain string')).toBe(false);
    expect(channel.dispatch({ cluster2: 2, kind: 'note' })).toBe(false);
  });

  it('tells the sender of a handle when the message could not be written, and never throws', () => {
    const { channel, written, breakWith } = recording();
    const outcomes: Array<string | null> = [];
    channel.send('note', { text: 'one' }, undefined, (error) => outcomes.push(error?.message ?? null));
    breakWith(new Error('EPIPE'));
    expect(() => channel.send('note', { text: 'two' }, undefined, (error) => outcomes.push(error?.message ?? null))).not.toThrow();
    channel.close(new Error('closed'));
    channel.send('note', { text: 'three' }, undefined, (error) => outcomes.push(error?.message ?? null));
    expect(outcomes).toEqual([null, 'EPIPE', 'closed']);
    expect(written).toHaveLength(1);
  });

  it('rejects the calls still pending when it closes', async () => {
    const silent = new Channel<Record<string, never>, Asks>({ send: () => {} });
    const pending = silent.call('add', { a: 1, b: 2 }, 10_000);
    expect(silent.pendingCalls).toBe(1);
    silent.close(new Error('the master went away'));
    await expect(pending).rejects.toThrow('the master went away');
    expect(silent.pendingCalls).toBe(0);
  });
});
