import type { IncomingMessage } from 'node:http';
import type { ControlAccess, Refusal } from '../access.js';
import { HttpError } from './http-util.js';

/** What a route asks of its caller. */
export interface RouteGuard {
  /** A control action: core's control guard (the same one ECV's control routes use). */
  control: boolean;
  /**
   * Also takes the token from `?token=` (the dashboard page only: a browser navigation cannot
   * send a header). Everything the page fetches afterwards sends `Authorization` instead.
   */
  tokenInQuery: boolean;
}

/**
 * Decides whether `req` may use a route; throws the HttpError to answer with. With a token every
 * route needs it (401 without, 403 wrong); without one, read routes are open to whoever reaches
 * monHost and control routes follow core's loopback, Origin, Sec-Fetch-Site and Host rules.
 */
export function authorize(req: IncomingMessage, guard: RouteGuard, query: URLSearchParams, token: string | undefined, access: ControlAccess): void {
  const facts = access.controlRequestOf(req);
  let refusal: Refusal | undefined;
  if (guard.control) {
    refusal = access.refuseControl(facts, token);
  } else if (token) {
    const fromQuery = guard.tokenInQuery ? (query.get('token') ?? undefined) : undefined;
    refusal = access.refuseToken(access.bearerToken(facts.authorization) ?? fromQuery, token);
  }
  if (refusal === undefined) return;
  const hint = guard.tokenInQuery && refusal.status === 401 ? ' (a browser: open the dashboard as /?token=<monToken>)' : '';
  throw new HttpError(refusal.status, refusal.code, refusal.message + hint, refusal.headers);
}
