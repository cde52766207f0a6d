// The file destination of captured logs, on real files: every line once, whole and in order across
// rotations and external moves; bounded memory; failures reported, never thrown.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RotatingFile, type RotatingFileOptions } from '../src/primary/logs/rotating-file.js';
import { tempDir, until } from './helpers.js';

let tmp: string;
let file: string;
let open: RotatingFile[];
beforeEach(() => {
  tmp = tempDir('rotating-file');
  file = path.join(tmp, 'logs', 'out.log');
  open = [];
});
afterEach(async () => {
  await Promise.all(open.map((log) => log.close()));
  fs.chmodSync(tmp, 0o700);
  fs.rmSync(tmp, { recursive: true, force: true });
});

const KiB = 1024;

function rotating(options: Partial<RotatingFileOptions> = {}): RotatingFile {
  const log = new RotatingFile({ path: file, maxSize: 0, keep: 5, gzip: false, maxPending: 4096 * KiB, ...options });
  open.push(log);
  return log;
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** Writes `text`, waiting for room while the queue is full (the caller never loses a line here). */
async function writeAll(log: RotatingFile, text: string): Promise<void> {
  while (!log.write(text)) await turn();
}

/** Line `i`: its number, then filler of a length that varies with i; some lines are long. */
function line(i: number): string {
  const filler = i % 20_000 === 7 ? 300 * KiB : i % 5_000 === 3 ? 70 * KiB : (i * 37) % 400;
  return `${i} ${'x'.repeat(filler)}\n`;
}

/** out.log.N … out.log.1, then out.log: oldest first. */
function filesOldestFirst(): string[] {
  const dir = path.dirname(file);
  const rotated = fs
    .readdirSync(dir)
    .map((name) => /^out\.log\.(\d+)(\.gz)?$/.exec(name))
    .filter((match) => match !== null)
    .sort((a, b) => Number(b[1]) - Number(a[1]))
    .map((match) => path.join(dir, match[0]));
  return fs.existsSync(file) ? [...rotated, file] : rotated;
}

function contentOf(name: string): string {
  const bytes = fs.readFileSync(name);
  return (name.endsWith('.gz') ? zlib.gunzipSync(bytes) : bytes).toString();
}

/** The numbers of the lines in `texts`, each line checked whole. */
function numbersIn(...texts: string[]): number[] {
  return texts.flatMap((text) => {
    expect(text === '' || text.endsWith('\n')).toBe(true);
    return text
      .split('\n')
      .slice(0, -1)
      .map((text) => {
        const i = Number(text.slice(0, text.indexOf(' ')));
        expect(`${text}\n`).toBe(line(i));
        return i;
      });
  });
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

describe('RotatingFile', () => {
  it('rotates 200,000 lines of varied length (some over 64 KiB) by size: every line once, whole, in order; no file over maxSize but for one long line', async () => {
    const maxSize = 256 * KiB;
    const log = rotating({ maxSize, keep: 10_000 });
    let i = 0;
    while (i < 200_000) {
      // Single lines and groups of lines, several writes per turn: as a master's pipes deliver them.
      // A line over maxSize is a write of its own: a write is what rotation never splits.
      for (let write = 0; write < 20 && i < 200_000; write++) {
        const group = (i % 7) + 1;
        let text = line(i++);
        for (let k = 1; k < group && i < 200_000 && text.length < maxSize && line(i).length < maxSize; k++) text += line(i++);
        await writeAll(log, text);
      }
      await turn();
    }
    await log.close();
    expect(log.pending).toBe(0);

    const files = filesOldestFirst();
    expect(files.length).toBeGreaterThan(100);
    const contents = files.map(contentOf);
    expect(numbersIn(...contents)).toEqual(range(0, 200_000));
    const oversized = contents.filter((text) => Buffer.byteLength(text) > maxSize);
    expect(oversized.length).toBe(10);
    for (const text of oversized) expect(text.split('\n').length).toBe(2);
  });

  it('keeps only out.log.1 … out.log.<keep>, the newest, and deletes older ones', async () => {
    const log = rotating({ maxSize: 10 * KiB, keep: 3 });
    for (let i = 0; i < 2_000; i++) await writeAll(log, `${i} ${'x'.repeat(100)}\n`);
    await log.close();
    const names = fs.readdirSync(path.dirname(file)).sort();
    expect(names).toEqual(['out.log', 'out.log.1', 'out.log.2', 'out.log.3']);
    const numbers = filesOldestFirst()
      .map(contentOf)
      .join('')
      .split('\n')
      .slice(0, -1)
      .map((text) => Number(text.split(' ')[0]));
    expect(numbers.at(-1)).toBe(1_999);
    expect(numbers).toEqual(range(numbers[0]!, 2_000));
    expect(numbers.length).toBeGreaterThan(200);
  });

  it('gzips rotated files (out.log.1.gz …) with their exact content, and keeps the count across plain and .gz names', async () => {
    // A plain out.log.2 left by a run without gzip shifts and counts like the rest.
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(`${file}.2`, 'older\n');
    const log = rotating({ maxSize: 10 * KiB, keep: 4, gzip: true });
    for (let i = 0; i < 600; i++) await writeAll(log, `${i} ${'y'.repeat(100)}\n`);
    await log.close();
    const names = fs.readdirSync(path.dirname(file)).sort();
    expect(names).toEqual(['out.log', 'out.log.1.gz', 'out.log.2.gz', 'out.log.3.gz', 'out.log.4.gz']);
    const texts = filesOldestFirst().map(contentOf);
    for (const text of texts) expect(Buffer.byteLength(text)).toBeLessThanOrEqual(10 * KiB);
    const numbers = texts
      .join('')
      .split('\n')
      .slice(0, -1)
      .map((text) => Number(text.split(' ')[0]));
    expect(numbers).toEqual(range(600 - numbers.length, 600));
  });

  it('continues an existing file: its size counts toward maxSize, nothing in it is lost', async () => {
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, 'a'.repeat(99) + '\n');
    const log = rotating({ maxSize: 150, keep: 5 });
    await writeAll(log, 'b'.repeat(59) + '\n');
    await writeAll(log, 'c'.repeat(9) + '\n');
    await log.close();
    expect(fs.readFileSync(`${file}.1`, 'utf8')).toBe('a'.repeat(99) + '\n');
    expect(fs.readFileSync(file, 'utf8')).toBe('b'.repeat(59) + '\n' + 'c'.repeat(9) + '\n');
  });

  /** Writes numbered lines every turn until `stop()` resolves true; returns how many. */
  async function writeWhile(log: RotatingFile, during: (written: number) => Promise<boolean> | boolean): Promise<number> {
    let i = 0;
    while (await during(i)) {
      for (let k = 0; k < 50; k++) await writeAll(log, line(i++));
      await turn();
    }
    return i;
  }

  it('follows an external mv on reopen(): lines queued before go to the moved file, later ones to a new out.log, each once', async () => {
    const log = rotating({ checkMovedEvery: 60_000 });
    let moved = false;
    const total = await writeWhile(log, (written) => {
      if (written >= 5_000 && !moved && fs.existsSync(file)) {
        fs.renameSync(file, `${file}.moved`);
        log.reopen();
        moved = true;
      }
      return !moved || written < 10_000;
    });
    await log.close();
    const before = fs.readFileSync(`${file}.moved`, 'utf8');
    const after = fs.readFileSync(file, 'utf8');
    expect(after.length).toBeGreaterThan(0);
    expect(numbersIn(before, after)).toEqual(range(0, total));
  });

  it.each([
    ['the path is gone', false],
    ['the path names a new empty file (logrotate create)', true],
  ])('notices an external mv by itself (no reopen call) within checkMovedEvery when %s, and reopens the path, each line once', async (_, create) => {
    const log = rotating({ checkMovedEvery: 50 });
    let moved = false;
    const total = await writeWhile(log, (written) => {
      if (written >= 5_000 && !moved && fs.existsSync(file)) {
        fs.renameSync(file, `${file}.moved`);
        if (create) fs.writeFileSync(file, '');
        moved = true;
      }
      // Goes on until the timer has reopened out.log and lines land there again.
      return !moved || !fs.existsSync(file) || fs.statSync(file).size === 0;
    });
    await log.close();
    const before = fs.readFileSync(`${file}.moved`, 'utf8');
    const after = fs.readFileSync(file, 'utf8');
    expect(numbersIn(before, after)).toEqual(range(0, total));
  });

  it.skipIf(!fs.existsSync('/proc/self/fd'))('leaves no descriptor open across reopens and rotations once closed', async () => {
    const descriptors = () => fs.readdirSync('/proc/self/fd').length;
    const before = descriptors();
    const log = rotating({ maxSize: 4 * KiB, keep: 2 });
    for (let i = 0; i < 50; i++) {
      await writeAll(log, `${i} ${'d'.repeat(1000)}\n`);
      log.reopen();
      await until(() => log.pending === 0, 5_000, 'the queue written');
    }
    await log.close();
    expect(fs.readdirSync(path.dirname(file)).sort()).toEqual(['out.log', 'out.log.1', 'out.log.2']);
    expect(descriptors()).toBeLessThanOrEqual(before);
  });

  it('refuses writes beyond maxPending (false) and keeps pending bounded; the lines it took are all written', async () => {
    const maxPending = 64 * KiB;
    const log = rotating({ maxPending });
    const accepted: number[] = [];
    for (let i = 0; i < 1_000; i++) {
      const text = `${i} ${'z'.repeat(1000)}\n`;
      if (log.write(text)) accepted.push(i);
      expect(log.pending).toBeLessThanOrEqual(maxPending);
    }
    expect(accepted.length).toBeGreaterThan(30);
    expect(accepted.length).toBeLessThan(100);
    expect(log.pending).toBeGreaterThan(maxPending - 2 * KiB);
    await log.close();
    expect(log.pending).toBe(0);
    const lines = fs.readFileSync(file, 'utf8').split('\n').slice(0, -1);
    expect(lines.map((text) => Number(text.split(' ')[0]))).toEqual(accepted);
  });

  it('reports a path it cannot create (a regular file where its directory should be, ENOTDIR) once, refuses writes, never throws, and resumes once the path is fixed', async () => {
    const blocker = path.join(tmp, 'blocked');
    fs.writeFileSync(blocker, '');
    file = path.join(blocker, 'out.log');
    const errors: Error[] = [];
    const log = rotating({ checkMovedEvery: 30, onError: (error) => errors.push(error) });
    expect(log.write('queued before the failure was known\n')).toBe(true);
    await until(() => errors.length > 0, 5_000, 'onError');
    expect((errors[0] as NodeJS.ErrnoException).code).toBe('ENOTDIR');
    expect(errors[0]!.message).toContain(file);
    expect(log.write('refused\n')).toBe(false);
    // Several retries later, still one report.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(errors).toHaveLength(1);

    fs.rmSync(blocker);
    await until(() => log.write('after the fix\n'), 5_000, 'writes accepted again');
    await log.close();
    expect(fs.readFileSync(file, 'utf8')).toBe('queued before the failure was known\nafter the fix\n');
    expect(errors).toHaveLength(1);
  });

  it('recovers from a failed reopen with nothing queued (refusing every write would otherwise last forever)', async () => {
    const errors: Error[] = [];
    const log = rotating({ checkMovedEvery: 30, onError: (error) => errors.push(error) });
    await writeAll(log, 'one\n');
    await until(() => log.pending === 0 && fs.existsSync(file), 5_000, 'the first line written');
    fs.renameSync(path.dirname(file), `${path.dirname(file)}.moved`);
    fs.writeFileSync(path.dirname(file), '');
    log.reopen();
    await until(() => errors.length > 0, 5_000, 'onError');
    expect((errors[0] as NodeJS.ErrnoException).code).toBe('ENOTDIR');
    expect(log.write('refused\n')).toBe(false);
    fs.rmSync(path.dirname(file));
    await until(() => log.write('two\n'), 5_000, 'writes accepted again');
    await log.close();
    expect(fs.readFileSync(`${path.dirname(file)}.moved/out.log`, 'utf8')).toBe('one\n');
    expect(fs.readFileSync(file, 'utf8')).toBe('two\n');
    expect(errors).toHaveLength(1);
  });

  it('reports a rotation that fails (out.log.1 a directory it cannot delete) once, and goes on writing to out.log, no line lost', async () => {
    fs.mkdirSync(`${file}.1`, { recursive: true });
    fs.writeFileSync(path.join(`${file}.1`, 'inside'), '');
    const errors: Error[] = [];
    const log = rotating({ maxSize: 1 * KiB, keep: 1, checkMovedEvery: 20, onError: (error) => errors.push(error) });
    const started = Date.now();
    let i = 0;
    // Long enough for several attempts, each put off to the next check.
    while (Date.now() - started < 300) {
      await writeAll(log, `${i++} ${'r'.repeat(100)}\n`);
      await turn();
    }
    await log.close();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/cannot rotate log file/);
    const numbers = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .slice(0, -1)
      .map((text) => Number(text.split(' ')[0]));
    expect(numbers).toEqual(range(0, i));
    expect(i).toBeGreaterThan(20);
  });

  it.skipIf(!fs.existsSync('/dev/full'))(
    'reports a full disk (ENOSPC, /dev/full) once across its retries and refuses writes meanwhile, never throws',
    async () => {
      const errors: Error[] = [];
      let acceptedWhileFailing: boolean | undefined;
      const full: RotatingFile = new RotatingFile({
        path: '/dev/full',
        maxSize: 0,
        keep: 1,
        gzip: false,
        maxPending: 64 * KiB,
        checkMovedEvery: 20,
        onError: (error) => {
          errors.push(error);
          acceptedWhileFailing = full.write('refused\n');
        },
      });
      open.push(full);
      expect(full.write('lost\n')).toBe(true);
      await until(() => errors.length > 0, 5_000, 'onError');
      expect((errors[0] as NodeJS.ErrnoException).code).toBe('ENOSPC');
      expect(errors[0]!.message).toContain('/dev/full');
      expect(acceptedWhileFailing).toBe(false);
      // Each check reopens /dev/full and the kept line fails again: still the one report.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await full.close();
      expect(errors).toHaveLength(1);
      expect(full.pending).toBe(0);
    },
  );

  it.skipIf(process.getuid?.() === 0)('reports a directory it may not write (EACCES) and resumes once it may', async () => {
    fs.mkdirSync(path.dirname(file));
    fs.chmodSync(path.dirname(file), 0o500);
    const errors: Error[] = [];
    const log = rotating({ checkMovedEvery: 30, onError: (error) => errors.push(error) });
    log.write('first\n');
    await until(() => errors.length > 0, 5_000, 'onError');
    expect((errors[0] as NodeJS.ErrnoException).code).toBe('EACCES');
    expect(log.write('refused\n')).toBe(false);
    fs.chmodSync(path.dirname(file), 0o700);
    await until(() => log.write('second\n'), 5_000, 'writes accepted again');
    await log.close();
    expect(fs.readFileSync(file, 'utf8')).toBe('first\nsecond\n');
    expect(errors).toHaveLength(1);
  });

  it('refuses writes after close(), and close() twice is one close', async () => {
    const log = rotating();
    log.write('one\n');
    const closing = log.close();
    expect(log.write('late\n')).toBe(false);
    await Promise.all([closing, log.close()]);
    expect(fs.readFileSync(file, 'utf8')).toBe('one\n');
  });
});
