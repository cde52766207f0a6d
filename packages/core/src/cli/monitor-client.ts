import http from 'node:http';

/** Where master.json says the monitor listens. */
export interface MonitorAddress {
  host: string;
  port: number;
}

/** Where the CLI reads the monitor's monToken from (a flag would show it in `ps`). */
export const TOKEN_ENV = 'CLUSTER2_MON_TOKEN';

/** A wildcard bind address is not something to connect to: use loopback of the same family. */
export function connectHost(host: string): string {
  if (host === '' || host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host.replace(/^\[(.*)\]$/, '$1');
}

/** How long one request to the monitor may take, ms. */
export const MONITOR_TIMEOUT_MS = 5000;
/** An answer larger than this is refused (a wrong port could stream anything), bytes. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

const authHeaders = (token: string | undefined): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});

/** Turns a monitor's refusal into a message that says what to do. */
function refusal(status: number | undefined, body: string): Error {
  if (status === 401 || status === 403) return new Error(`monitor answered HTTP ${status}: set ${TOKEN_ENV} to its monToken`);
  let detail = '';
  try {
    const parsed = JSON.parse(body) as { error?: { code?: string; message?: string } };
    if (parsed.error?.message) detail = `: ${parsed.error.message}${parsed.error.code ? ` (${parsed.error.code})` : ''}`;
  } catch {
    // Not a monitor's JSON error: the status alone.
  }
  return new Error(`monitor answered HTTP ${status}${detail}`);
}

/** One request to the monitor; resolves with the parsed JSON of a 2xx answer, rejects with the reason otherwise. */
export function monitorJson<T>(
  monitor: MonitorAddress,
  method: 'GET' | 'POST',
  target: string,
  token: string | undefined,
  timeoutMs = MONITOR_TIMEOUT_MS,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: connectHost(monitor.host),
        port: monitor.port,
        method,
        path: target,
        signal: AbortSignal.timeout(timeoutMs),
        headers: { accept: 'application/json', ...authHeaders(token) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) req.destroy(new Error('answer too large'));
          else chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) {
            reject(refusal(status, body));
            return;
          }
          try {
            resolve(JSON.parse(body) as T);
          } catch {
            reject(new Error('monitor sent malformed JSON'));
          }
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * Follows `GET /api/events`, calling `onEvent` with each event's name and parsed data. Resolves
 * when the stream ends (the monitor ends each after its lifetime) or `signal` aborts; rejects
 * when it cannot be opened.
 */
export function followMonitorEvents(
  monitor: MonitorAddress,
  token: string | undefined,
  onEvent: (event: string, data: unknown) => void,
  signal: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: connectHost(monitor.host), port: monitor.port, path: '/api/events', headers: { accept: 'text/event-stream', ...authHeaders(token) } },
      (res) => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => reject(refusal(res.statusCode, Buffer.concat(chunks).toString('utf8'))));
          return;
        }
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) !== -1) {
            const message = parseMessage(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
            if (message !== undefined) onEvent(message.event, message.data);
          }
        });
        res.on('end', () => resolve());
        res.on('error', () => resolve());
      },
    );
    req.on('error', (error) => (signal.aborted ? resolve() : reject(error)));
    signal.addEventListener('abort', () => req.destroy(), { once: true });
  });
}

function parseMessage(block: string): { event: string; data: unknown } | undefined {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return undefined;
  try {
    return { event, data: JSON.parse(data.join('\n')) as unknown };
  } catch {
    return undefined;
  }
}
