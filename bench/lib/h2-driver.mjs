// HTTP/2 clients over node:http2, against 127.0.0.1 only: a one-stream probe, and a closed-loop
// load of N sessions × M streams that moves to a new session when told to go away (as browsers,
// curl and gRPC do) and counts every stream.
//
// A stream succeeds on a 200 with the body `hello world`. A stream the server refused
// (REFUSED_STREAM: never processed) is retried and counted apart; a request the client could not
// send because its session was already going away is sent again on the next session. Anything
// else fails, grouped by reason (status, reset code or session error).
import http2 from 'node:http2';

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } = http2.constants;
// HTTP/2 error codes by number (RFC 9113 §7) for the failure reasons. A client stream whose
// connection closed under it ends with CANCEL, one whose connection failed (ECONNRESET) with INTERNAL_ERROR.
const ERROR_CODES = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
];
const codeName = (code) => ERROR_CODES[code] ?? `code ${code}`;

/** One GET on a fresh h2c session: `{ status, pid, body }`; rejects on a session or stream error. */
export function h2Get(port, path = '/', { timeout = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const timer = setTimeout(() => session.destroy(new Error('request timed out')), timeout);
    session.once('error', (error) => (clearTimeout(timer), reject(error)));
    const stream = session.request({ ':path': path }, { endStream: true });
    let status;
    let pid;
    let body = '';
    stream.once('response', (headers) => {
      status = Number(headers[':status']);
      pid = Number(headers['x-pid']) || undefined;
    });
    stream.setEncoding('utf8').on('data', (chunk) => (body += chunk));
    stream.once('error', () => {});
    stream.once('close', () => {
      clearTimeout(timer);
      session.close();
      if (status === undefined) reject(new Error(`stream closed without a response (rst ${stream.rstCode})`));
      else resolve({ status, pid, body });
    });
  });
}

/**
 * Starts `sessions` × `streams` closed loops against h2c `port`, until `stop()`, which resolves
 * with `{ ok, failed, refused, notSent, reasons, sessions, goaways, closedWithoutGoaway }`.
 * `closedWithoutGoaway`: sessions whose connection closed with no GOAWAY from the server (the
 * driver's own closes aside), the abrupt end a drain must not cause.
 */
export function startH2Load(port, { sessions = 4, streams = 16, streamTimeout = 10_000 } = {}) {
  const counts = { ok: 0, failed: 0, refused: 0, notSent: 0, reasons: {} };
  const records = [];
  const current = new Array(sessions).fill(undefined);
  let running = true;
  const fail = (reason) => {
    counts.failed++;
    counts.reasons[reason] = (counts.reasons[reason] ?? 0) + 1;
  };

  const sessionFor = (slot) => {
    const entry = current[slot];
    if (entry && !entry.session.closed && !entry.session.destroyed && !entry.record.goaway) return entry;
    const record = { goaway: false, closed: false, closedByClient: false };
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('goaway', () => (record.goaway = true));
    session.on('close', () => (record.closed = true));
    session.on('error', (error) => (record.error = error.code ?? error.message));
    records.push(record);
    return (current[slot] = { session, record });
  };

  const one = ({ session, record }) => {
    let stream;
    try {
      stream = session.request({ ':path': '/' }, { endStream: true });
    } catch {
      // ERR_HTTP2_GOAWAY_SESSION / ERR_HTTP2_INVALID_SESSION: the session is going away, nothing was sent.
      counts.notSent++;
      record.goaway ||= session.closed;
      return new Promise((resolve) => setImmediate(resolve));
    }
    return new Promise((resolve) => {
      let status;
      let body = '';
      let ended = false;
      stream.setTimeout(streamTimeout, () => stream.close(NGHTTP2_CANCEL));
      stream.on('response', (headers) => (status = Number(headers[':status'])));
      stream.setEncoding('utf8').on('data', (chunk) => (body += chunk));
      stream.on('end', () => (ended = true));
      stream.on('error', () => {});
      stream.on('close', () => {
        if (ended && status === 200 && body === 'hello world') counts.ok++;
        else if (status === undefined && stream.rstCode === NGHTTP2_REFUSED_STREAM) counts.refused++;
        else if (status !== undefined && status !== 200) fail(`HTTP ${status}`);
        else fail(stream.rstCode ? `reset ${codeName(stream.rstCode)}` : 'closed before the end');
        resolve();
      });
    });
  };

  const loop = async (slot) => {
    while (running) await one(sessionFor(slot));
  };
  const loops = [];
  for (let slot = 0; slot < sessions; slot++) for (let i = 0; i < streams; i++) loops.push(loop(slot));

  return {
    counts,
    async stop() {
      running = false;
      await Promise.all(loops);
      for (const entry of current) {
        if (!entry || entry.session.closed) continue;
        entry.record.closedByClient = true;
        entry.session.close();
      }
      return {
        ...counts,
        sessions: records.length,
        goaways: records.filter((r) => r.goaway).length,
        closedWithoutGoaway: records.filter((r) => r.closed && !r.goaway && !r.closedByClient).length,
      };
    },
  };
}
