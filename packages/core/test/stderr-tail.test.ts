import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { StderrTail } from '../src/primary/stderr-tail.js';

/** What a worker's stderr carries when its entry point has a syntax error (Node 22's trace, 10 frames). */
const CRASH = [
  'file:///srv/app/app.mjs:2',
  '  res.end("never"',
  '          ^^^^^^^',
  '',
  'SyntaxError: missing ) after argument list',
  ...Array.from({ length: 10 }, (_, i) => `    at frame${i} (node:internal/modules/esm/loader:${i}:1)`),
  '',
  'Node.js v22.23.3',
].join('\n');

async function tailOf(...writes: string[]): Promise<string> {
  const stream = new PassThrough();
  const passedThrough: Buffer[] = [];
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => passedThrough.push(chunk));
  const tail = new StderrTail(stream, sink);
  for (const text of writes) stream.write(text);
  stream.end();
  stream.destroy();
  await tail.ended;
  expect(Buffer.concat(passedThrough).toString()).toBe(writes.join(''));
  return tail.lines();
}

describe('StderrTail', () => {
  it("keeps the error's own line when the runtime prints a long stack after it (Node 22 and later)", async () => {
    const lines = await tailOf('booting\n', CRASH);
    expect(lines).toContain('SyntaxError: missing ) after argument list');
    expect(lines).toContain('    at frame2 ');
    expect(lines).not.toContain('frame3');
    expect(lines).toContain('    at …');
    expect(lines.endsWith('Node.js v22.23.3')).toBe(true);
  });

  it('keeps only the last 4 KiB of a worker that writes a lot, and its last lines', async () => {
    const lines = await tailOf('x'.repeat(100_000), '\nlast words\n');
    expect(lines.length).toBeLessThanOrEqual(4096);
    expect(lines.endsWith('last words')).toBe(true);
  });

  it("is '' for a worker that wrote nothing", async () => {
    expect(await tailOf()).toBe('');
  });
});
