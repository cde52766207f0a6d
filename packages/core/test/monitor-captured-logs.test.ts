// The monitor's view of the master's captured lines: GET /api/logs (recent lines, filtered),
// POST /api/logs/reopen, and the `logs` / `logs-skipped` events of the event stream.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOG_WINDOW_MS, MAX_LOG_RECORDS_PER_WINDOW } from '../src/monitor/sse.js';
import type { LogRecord } from '../src/status.js';
import { errorCode, openEventStream, rawRequest, startTestMonitor, waitFor, type TestMonitor } from './monitor-helpers.js';

let t: TestMonitor | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const record = (i: number, extra: Partial<LogRecord> = {}): LogRecord => ({
  time: 1_800_000_000_000 + i,
  worker: `w${i % 2}`,
  pid: 4101 + (i % 2),
  stream: i % 3 === 0 ? 'err' : 'out',
  msg: `line ${i}`,
  ...extra,
});

interface LogsAnswer {
  files: Array<{ name: string }>;
  lines: LogRecord[];
  dropped: number;
}

describe('GET /api/logs: captured lines', () => {
  it('answers the last 200 lines by default, with the files of the logs directory and the dropped count', async () => {
    t = await startTestMonitor();
    t.source.logRecords = Array.from({ length: 300 }, (_, i) => record(i));
    t.source.logsDropped = 7;
    fs.writeFileSync(path.join(t.logsDir, 'out.log'), 'x\n');
    const body = (await (await fetch(`${t.base}/api/logs`)).json()) as LogsAnswer;
    expect(body.files.map((f) => f.name)).toEqual(['out.log']);
    expect(body.lines).toHaveLength(200);
    expect(body.lines[0]).toEqual(record(100));
    expect(body.lines.at(-1)).toEqual(record(299));
    expect(body.dropped).toBe(7);
    expect(t.source.logQueries).toEqual([{ lines: 200 }]);
  });

  it('passes ?lines, ?worker and ?stream to the source', async () => {
    t = await startTestMonitor();
    t.source.logRecords = Array.from({ length: 30 }, (_, i) => record(i));
    const body = (await (await fetch(`${t.base}/api/logs?lines=3&worker=w1&stream=err`)).json()) as LogsAnswer;
    expect(body.lines.map((r) => r.msg)).toEqual(['line 15', 'line 21', 'line 27']);
    expect(t.source.logQueries).toEqual([{ lines: 3, worker: 'w1', stream: 'err' }]);
    await fetch(`${t.base}/api/logs?worker=master&lines=10000`);
    expect(t.source.logQueries[1]).toEqual({ lines: 10_000, worker: 'master' });
  });

  it.each([
    ['lines=0', /lines must be an integer from 1 to 10000/],
    ['lines=10001', /lines must be an integer from 1 to 10000/],
    ['lines=abc', /lines must be an integer/],
    ['lines=-5', /lines must be an integer/],
    ['worker=frontend', /worker must be a worker label/],
    ['worker=w', /worker must be a worker label/],
    ['stream=both', /stream must be 'out' or 'err'/],
    ['stream=', /stream must be 'out' or 'err'/],
  ])('answers 400 BAD_REQUEST to ?%s, asking the source nothing', async (query, message) => {
    t = await startTestMonitor();
    const res = await rawRequest(t.port, `/api/logs?${query}`);
    expect(res.status).toBe(400);
    const { error } = JSON.parse(res.body) as { error: { code: string; message: string } };
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toMatch(message);
    expect(t.source.logQueries).toEqual([]);
  });

  it('answers no lines and dropped 0 from a source that captures nothing (logs: inherit)', async () => {
    t = await startTestMonitor();
    Object.defineProperty(t.source, 'recentLogs', { value: undefined });
    expect(await (await fetch(`${t.base}/api/logs?lines=5`)).json()).toEqual({ files: [], lines: [], dropped: 0 });
  });
});

describe('POST /api/logs/reopen', () => {
  it('asks the source to reopen its files: 200 { reopened: true }', async () => {
    t = await startTestMonitor();
    const res = await fetch(`${t.base}/api/logs/reopen`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ reopened: true });
    expect(t.source.calls).toEqual(['reopen-logs']);
  });

  it('answers 501 LOGS_NOT_CAPTURED when the source cannot reopen anything', async () => {
    t = await startTestMonitor();
    Object.defineProperty(t.source, 'reopenLogs', { value: undefined });
    const res = await fetch(`${t.base}/api/logs/reopen`, { method: 'POST' });
    expect(res.status).toBe(501);
    expect(await errorCode(res)).toBe('LOGS_NOT_CAPTURED');
  });

  it('is a control action: refused cross-origin (403) and without the token (401); GET is 405', async () => {
    t = await startTestMonitor();
    const foreign = await rawRequest(t.port, '/api/logs/reopen', { method: 'POST', headers: { origin: 'https://attacker.example' } });
    expect(foreign.status).toBe(403);
    const get = await rawRequest(t.port, '/api/logs/reopen');
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect(t.source.calls).toEqual([]);
    await t.close();
    t = await startTestMonitor({ token: 's3cret' });
    expect((await fetch(`${t.base}/api/logs/reopen`, { method: 'POST' })).status).toBe(401);
    expect((await fetch(`${t.base}/api/logs/reopen`, { method: 'POST', headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
    expect(t.source.calls).toEqual(['reopen-logs']);
  });
});

describe('GET /api/events: captured lines', () => {
  it('relays each batch of lines as a logs event, subscribing only while a client is connected', async () => {
    t = await startTestMonitor();
    expect(t.source.listenerCount('logs')).toBe(0);
    const stream = await openEventStream(t.port);
    await waitFor(() => stream.messages.length === 1, 2000, 'initial status');
    expect(t.source.listenerCount('logs')).toBe(1);
    const batch = [record(1), record(2, { msg: '<img src=x onerror=alert(1)>' })];
    t.source.emit('logs', batch);
    await waitFor(() => stream.messages.some((m) => m.event === 'logs'), 2000, 'logs event');
    expect(stream.messages.find((m) => m.event === 'logs')?.data).toEqual(batch);
    stream.close();
    await waitFor(() => t!.source.listenerCount('logs') === 0, 2000, 'logs listener removed');
  });

  it(`sends at most ${MAX_LOG_RECORDS_PER_WINDOW} lines per ${LOG_WINDOW_MS} ms, then one logs-skipped event with the count`, async () => {
    t = await startTestMonitor();
    const stream = await openEventStream(t.port);
    await waitFor(() => stream.messages.length === 1, 2000, 'initial status');
    // 5 batches of 100 at once: 200 go out, 300 are counted.
    for (let b = 0; b < 5; b += 1)
      t.source.emit(
        'logs',
        Array.from({ length: 100 }, (_, i) => record(b * 100 + i)),
      );
    await waitFor(() => stream.messages.some((m) => m.event === 'logs-skipped'), 2000, 'logs-skipped event');
    const sent = stream.messages.filter((m) => m.event === 'logs').flatMap((m) => m.data as LogRecord[]);
    expect(sent.map((r) => r.msg)).toEqual(Array.from({ length: 200 }, (_, i) => `line ${i}`));
    expect(stream.messages.filter((m) => m.event === 'logs-skipped').map((m) => m.data)).toEqual([{ skipped: 300 }]);

    // The next window has its full budget again.
    await new Promise((resolve) => setTimeout(resolve, LOG_WINDOW_MS + 20));
    t.source.emit('logs', [record(1000)]);
    await waitFor(() => stream.messages.filter((m) => m.event === 'logs').length === 3, 2000, 'a logs event in the next window');
    expect(stream.messages.at(-1)?.data).toEqual([record(1000)]);
    expect(stream.messages.filter((m) => m.event === 'logs-skipped')).toHaveLength(1);
    stream.close();
  });
});
