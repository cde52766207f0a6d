import type net from 'node:net';
import { servingContext } from '../context.js';
import { resolveOptions, type EcvOptions } from '../options.js';
import { EcvState } from '../primary/ecv-state.js';
import { answerEcv, matchEcvRoute, type EcvAnswer, type EcvHost, type EcvRequest, type EcvRoute } from './handler.js';

/** ECV for framework adapters: match a URL, answer a route. */
export interface EcvResponder {
  /** The mount path (`ecv.path`). */
  readonly path: string;
  match(url: string | undefined): EcvRoute | undefined;
  /** Answers with the running cluster's state, or, before a Cluster listens in this process, a local one. */
  answer(route: EcvRoute, request: EcvRequest): Promise<EcvAnswer>;
}

/**
 * Creates the ECV responder an adapter mounts. `ecv` is validated like the Cluster option (the
 * mounting call's settings win over the Cluster's); `monToken` guards non-loopback control calls.
 */
export function createEcvResponder(ecv: EcvOptions = {}, monToken?: string): EcvResponder {
  const options = resolveOptions({ ecv, monitor: false, ...(monToken ? { monToken } : {}) });
  const local = new EcvState(new Date());
  const standalone: EcvHost = {
    options: options.ecv,
    monToken: options.monToken,
    snapshot: () => local.snapshot(),
    draining: () => false,
    set: async (enabled) => void local.set(enabled),
  };
  return {
    path: options.ecv.path,
    match: (url) => matchEcvRoute(url, options.ecv.path),
    answer: (route, request) => {
      const running = servingContext()?.ecvHost;
      const host = running ? { ...running, options: options.ecv, monToken: options.monToken ?? running.monToken } : standalone;
      return answerEcv(route, request, host);
    },
  };
}

const kEcvMounted = Symbol.for('cluster2.ecvMounted');

/** Tells core that a framework adapter serves ECV on this server, so core's plain-http ECV stays out of the way. */
export function markEcvMounted(server: net.Server): void {
  (server as net.Server & { [kEcvMounted]?: boolean })[kEcvMounted] = true;
}

export function isEcvMounted(server: net.Server): boolean {
  return (server as net.Server & { [kEcvMounted]?: boolean })[kEcvMounted] === true;
}
