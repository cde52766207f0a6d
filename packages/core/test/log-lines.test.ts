import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../src/primary/logs/line-splitter.js';
import { renderLine } from '../src/primary/logs/record.js';
import type { LogRecord } from '../src/status.js';
import { describeEvent } from '../src/primary/logs/lifecycle-lines.js';

const text = { format: 'text', time: false, app: 'api' } as const;
const json = { format: 'json', time: false, app: 'api' } as const;
const record = (msg: string, extra: Partial<LogRecord> = {}): LogRecord => ({
  time: Date.UTC(2026, 11, 7, 6, 40),
  worker: 'w0',
  pid: 42,
  stream: 'out',
  msg,
  ...extra,
});

describe('LineSplitter', () => {
  it('holds a line cut across chunks, and a UTF-8 character cut between two, until the rest arrives', () => {
    const splitter = new LineSplitter(1024);
    const bytes = Buffer.from('één\ntwee drie\nvier');
    expect(splitter.push(bytes.subarray(0, 1))).toEqual([]);
    expect(splitter.push(bytes.subarray(1, 9))).toEqual(['één']);
    expect(splitter.push(bytes.subarray(9))).toEqual(['twee drie']);
    expect(splitter.end()).toEqual(['vier']);
    expect(splitter.end()).toEqual([]);
  });

  it('drops a CR before the newline, keeps empty lines', () => {
    expect(new LineSplitter(1024).push(Buffer.from('a\r\n\nb\n'))).toEqual(['a', '', 'b']);
  });

  it('cuts a line longer than maxLength into pieces of that length, also while it is still arriving', () => {
    const splitter = new LineSplitter(4);
    expect(splitter.push(Buffer.from('abcdefghij'))).toEqual(['abcd', 'efgh']);
    expect(splitter.push(Buffer.from('k\n'))).toEqual(['ijk']);
    expect(new LineSplitter(4).push(Buffer.from('0123456789\n'))).toEqual(['0123', '4567', '89']);
  });
});

describe('renderLine', () => {
  it('text: [worker pid] message, with an ISO time first when asked', () => {
    expect(renderLine(record('hello'), text)).toBe('[w0 42] hello\n');
    expect(renderLine(record('hello'), { ...text, time: true })).toBe('2026-12-07T06:40:00.000Z [w0 42] hello\n');
  });

  it('json: one record per line, the message as a string (quotes, newlines-free)', () => {
    expect(JSON.parse(renderLine(record('say "hi"'), json))).toEqual({
      time: '2026-12-07T06:40:00.000Z',
      app: 'api',
      worker: 'w0',
      pid: 42,
      stream: 'out',
      msg: 'say "hi"',
    });
    expect(JSON.parse(renderLine(record('up', { worker: 'master', level: 'info' }), json))).toMatchObject({ worker: 'master', level: 'info' });
  });

  it('a JSON object line stays that object with the labels added last, in either format; its own pid is kept', () => {
    const pino = '{"level":30,"time":1,"pid":7,"msg":"hi"}';
    for (const format of [text, json]) {
      const line = renderLine(record(pino), format);
      expect(line.endsWith('}\n')).toBe(true);
      expect(JSON.parse(line)).toEqual({ level: 30, time: 1, pid: 7, msg: 'hi', worker: 'w0', stream: 'out', app: 'api' });
    }
    expect(JSON.parse(renderLine(record('{}'), text))).toEqual({ worker: 'w0', pid: 42, stream: 'out', app: 'api' });
  });

  it('what only looks like JSON is text: an array, a broken object, a brace in prose', () => {
    expect(renderLine(record('[1,2]'), text)).toBe('[w0 42] [1,2]\n');
    expect(renderLine(record('{"a":'), text)).toBe('[w0 42] {"a":\n');
    expect(renderLine(record('{ not json }'), text)).toBe('[w0 42] { not json }\n');
  });
});

describe('describeEvent', () => {
  const w0 = { label: 'w0', planned: false, stderrTail: 'Error: boom\n    at x' };
  it('a crash is an error carrying its last stderr lines on one line; a planned exit is info', () => {
    expect(describeEvent({ time: 0, type: 'died', pid: 9, code: 1, signal: null }, w0)).toEqual({
      level: 'error',
      msg: 'worker 9 (w0) died (code 1); last stderr: Error: boom |     at x',
    });
    expect(describeEvent({ time: 0, type: 'died', pid: 9, code: null, signal: 'SIGTERM' }, { ...w0, planned: true })).toEqual({
      level: 'info',
      msg: 'worker 9 (w0) exited (signal SIGTERM)',
    });
  });

  it('respawn delay, recycle figure, drain sockets, reload failure and give-up read as sentences', () => {
    expect(describeEvent({ time: 0, type: 'respawn', pid: 9, delay: 400 }, w0).msg).toBe('worker 9 (w0) is replaced in 400 ms');
    expect(describeEvent({ time: 0, type: 'recycled', pid: 9, reason: 'maxRequests' }, { ...w0, figure: '101 requests, maxRequests 100' }).msg).toBe(
      'worker 9 (w0) recycled (maxRequests: 101 requests, maxRequests 100); its successor listens, it drains',
    );
    expect(describeEvent({ time: 0, type: 'draining', pid: 9, sockets: 1 }, w0).msg).toBe('worker 9 (w0) draining: 1 connection open');
    expect(describeEvent({ time: 0, type: 'reload-failed', message: 'a successor could not start' }, undefined)).toEqual({
      level: 'error',
      msg: 'rolling reload failed: a successor could not start; the workers that served before it still serve',
    });
    expect(describeEvent({ time: 0, type: 'giveup', reason: '11 workers died' }, undefined)).toEqual({ level: 'error', msg: 'gave up: 11 workers died' });
  });
});
