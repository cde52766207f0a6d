import type { IncomingMessage, ServerResponse } from 'node:http';
import { debuglog } from 'node:util';
import type { ControlAccess } from '../access.js';
import { authorize, type RouteGuard } from './auth.js';
import { DASHBOARD_CSP, DASHBOARD_HTML } from './dashboard-html.js';
import { readDependencies } from './deps.js';
import { HttpError, checkDeclaredLength, notFound, parseTarget, readBody, sendEmpty, sendError, sendJson, sendText } from './http-util.js';
import { listLogs, parseLinesParam, parseLogQuery, readLogTail } from './logs.js';
import type { MonitorMetrics } from './metrics.js';
import type { MonitorSource } from './source.js';
import type { SseHub } from './sse.js';

const debug = debuglog('cluster2');

/** Everything a route handler may use; one per monitor instance. */
export interface MonitorContext {
  source: MonitorSource;
  token: string | undefined;
  access: ControlAccess;
  logsDir: string | undefined;
  appRoot: string;
  metrics: MonitorMetrics;
  sse: SseHub;
}

interface RouteRequest {
  req: IncomingMessage;
  res: ServerResponse;
  /** Values of the `:name` segments, in order. */
  params: string[];
  query: URLSearchParams;
}

type Handler = (ctx: MonitorContext, request: RouteRequest) => void | Promise<void>;

interface Route {
  segments: string[];
  methods: { GET?: Handler; POST?: Handler };
  /** Who may call it (monitor/auth.ts), checked before the handler runs. */
  guard: RouteGuard;
}

const route = (pattern: string, methods: Route['methods'], guard: Partial<RouteGuard> = {}): Route => ({
  segments: pattern.slice(1).split('/'),
  methods,
  guard: { control: false, tokenInQuery: false, ...guard },
});
const CONTROL = { control: true };

const DASHBOARD_HEADERS = { 'content-security-policy': DASHBOARD_CSP, 'referrer-policy': 'no-referrer' };

const setEcv =
  (enabled: boolean): Handler =>
  async (ctx, { res }) => {
    // 204 only once the source has applied it on every worker (the documented promise: applied before the answer).
    await (enabled ? ctx.source.enable() : ctx.source.disable());
    sendEmpty(res, 204);
  };

const ROUTES: Route[] = [
  route('/', { GET: (_ctx, { res }) => sendText(res, 200, DASHBOARD_HTML, 'text/html; charset=utf-8', DASHBOARD_HEADERS) }, { tokenInQuery: true }),
  route('/api/status', { GET: (ctx, { res }) => sendJson(res, 200, ctx.source.status()) }),
  route('/api/events', { GET: (ctx, { req, res }) => ctx.sse.add(req, res) }),
  route('/api/deps', { GET: async (ctx, { res }) => sendJson(res, 200, await readDependencies(ctx.appRoot)) }),
  route('/api/logs', { GET: serveLogs }),
  // Before '/api/logs/:name', which would otherwise take 'reopen' for a file name.
  route('/api/logs/reopen', { POST: reopenLogs }, CONTROL),
  route('/api/logs/:name', { GET: serveLogTail }),
  route('/metrics', { GET: async (ctx, { res }) => sendText(res, 200, await ctx.metrics.render(), ctx.metrics.contentType) }),
  route('/api/ecv/enable', { POST: setEcv(true) }, CONTROL),
  route('/api/ecv/disable', { POST: setEcv(false) }, CONTROL),
  route('/api/reload', { POST: startReload }, CONTROL),
  route('/api/workers/:pid/restart', { POST: restartWorker }, CONTROL),
];

async function serveLogs(ctx: MonitorContext, { res, query }: RouteRequest): Promise<void> {
  // Validated first: a bad parameter is a 400 whether or not this master captures anything.
  const logQuery = parseLogQuery(query);
  const recent = ctx.source.recentLogs?.(logQuery) ?? { lines: [], dropped: 0 };
  const files = ctx.logsDir === undefined ? [] : await listLogs(ctx.logsDir);
  sendJson(res, 200, { files, lines: recent.lines, dropped: recent.dropped });
}

function reopenLogs(ctx: MonitorContext, { res }: RouteRequest): void {
  if (ctx.source.reopenLogs === undefined) {
    throw new HttpError(501, 'LOGS_NOT_CAPTURED', 'this master does not capture logs to files, so there is nothing to reopen (see the logs option)');
  }
  ctx.source.reopenLogs();
  sendJson(res, 200, { reopened: true });
}

async function serveLogTail(ctx: MonitorContext, { res, params, query }: RouteRequest): Promise<void> {
  const lines = parseLinesParam(query.get('lines'));
  // Every refusal (unsafe name, missing, outside logsDir) is the same 404: a probe learns nothing.
  const text = ctx.logsDir === undefined ? null : await readLogTail(ctx.logsDir, params[0] ?? '', lines);
  if (text === null) throw notFound('no such log file');
  sendText(res, 200, text, 'text/plain; charset=utf-8');
}

async function startReload(ctx: MonitorContext, { res, query }: RouteRequest): Promise<void> {
  const reloading = ctx.source.reload();
  if (query.get('wait') === '1') {
    // A deploy script waits for the outcome: 200 with the reload's status, or the error (500,
    // ERR_CLUSTER2_RELOAD_FAILED with the successor's exit and last stderr lines).
    await reloading;
    sendJson(res, 200, { reload: ctx.source.status().reload ?? null });
    return;
  }
  // 202: the rolling reload runs on; its outcome shows in status (`reload`) and lifecycle events.
  reloading.catch((error: Error) => debug('monitor: reload failed: %s', error.message));
  sendEmpty(res, 202);
}

function restartWorker(ctx: MonitorContext, { res, params }: RouteRequest): void {
  const raw = params[0] ?? '';
  if (!/^[1-9]\d{0,9}$/.test(raw) || !ctx.source.restartWorker(Number(raw))) throw notFound(`no live worker with pid ${raw}`);
  sendEmpty(res, 202);
}

/** The route table's patterns and methods, for tests that must cover every route. */
export const ROUTE_TABLE: ReadonlyArray<{ pattern: string; methods: string[]; control: boolean }> = ROUTES.map((r) => ({
  pattern: `/${r.segments.join('/')}`,
  methods: Object.keys(r.methods),
  control: r.guard.control,
}));

/** A request target without its query, for logs: the dashboard's URL may carry the token. */
export function pathOf(url: string | undefined): string {
  return (url ?? '').split('?')[0] ?? '';
}

function matchRoute(segments: string[]): { route: Route; params: string[] } | null {
  for (const candidate of ROUTES) {
    if (candidate.segments.length !== segments.length) continue;
    const params: string[] = [];
    const ok = candidate.segments.every((expected, i) => {
      const actual = segments[i] ?? '';
      if (!expected.startsWith(':')) return expected === actual;
      params.push(actual);
      return true;
    });
    if (ok) return { route: candidate, params };
  }
  return null;
}

/** Answers one monitor request; never throws (a failing handler becomes a 500). */
export async function dispatch(ctx: MonitorContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    checkDeclaredLength(req);
    const { segments, query } = parseTarget(req.url);
    const matched = matchRoute(segments);
    if (matched === null) throw notFound();
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const handler = method === 'GET' || method === 'POST' ? matched.route.methods[method] : undefined;
    if (handler === undefined) {
      const allow = matched.route.methods.GET ? 'GET, HEAD' : 'POST';
      throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed here`, { allow });
    }
    await readBody(req);
    authorize(req, matched.route.guard, query, ctx.token, ctx.access);
    await handler(ctx, { req, res, params: matched.params, query });
  } catch (error) {
    fail(req, res, error);
  }
}

function fail(req: IncomingMessage, res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    // Mid-stream there is no status left to send; cut the response so the client sees it fail.
    res.destroy();
    return;
  }
  if (error instanceof HttpError) {
    if (error.status === 413) {
      // Node drains the rest of the body after answering; bound that for a client that keeps sending.
      res.on('finish', () => setTimeout(() => req.socket.destroy(), 1000).unref());
    }
    sendError(res, error);
    return;
  }
  const code = (error as { code?: unknown } | null)?.code;
  debug('monitor: %s %s failed: %s', req.method, pathOf(req.url), (error as Error)?.stack ?? String(error));
  // Cluster2 errors (e.g. a reload during shutdown) are meant for users; anything else stays private.
  const ours = typeof code === 'string' && code.startsWith('ERR_CLUSTER2_');
  sendError(res, new HttpError(500, ours ? code : 'INTERNAL_ERROR', ours ? (error as Error).message : 'internal error'));
}
