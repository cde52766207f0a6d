import { servingContext } from '../context.js';
import { resolveOptions, type EcvOptions } from '../options.js';
import { EcvState, type EcvHost } from '../ecv/state.js';
import { answerEcv, matchEcvRoute, type EcvAnswer, type EcvRequest, type EcvRoute } from '../ecv/handler.js';

/** ECV for framework adapters: match a URL, answer a route. */
export interface EcvResponder {
  /** The mount path: the mounting call's `ecv.path`, else the serving Cluster's, else `/ecv`. */
  readonly path: string;
  match(url: string | undefined): EcvRoute | undefined;
  /** Answers with the running cluster's state, or, before a Cluster listens in this process, a local one. */
  answer(route: EcvRoute, request: EcvRequest): Promise<EcvAnswer>;
}

/**
 * Creates the ECV responder an adapter mounts. `ecv` is validated like the Cluster option; field
 * by field, the mounting call's settings win and the ones it leaves out come from the Cluster
 * serving in this process (so `app.use(cluster2())` + `listen(app, { ecv: { control: true } })`
 * serves the control routes). `monToken`, when given, is required of every control call (see
 * refuseControl in access.ts); without one, control is loopback-only.
 */
export function createEcvResponder(ecv: EcvOptions = {}, monToken?: string): EcvResponder {
  const options = resolveOptions({ ecv, monitor: false, ...(monToken ? { monToken } : {}) });
  const given = Object.fromEntries(Object.entries(ecv).filter(([, value]) => value !== undefined));
  const local = new EcvState(new Date());
  const standalone: EcvHost = {
    options: options.ecv,
    monToken: options.monToken,
    snapshot: () => local.snapshot(),
    draining: () => false,
    set: async (enabled) => void local.set(enabled),
  };
  let merged: { running: EcvHost; host: EcvHost } | undefined;
  const current = (): EcvHost => {
    const running = servingContext()?.ecvHost;
    if (!running) return standalone;
    if (merged?.running !== running) {
      const ecvOptions = resolveOptions({ ecv: { ...running.options, ...given }, monitor: false }).ecv;
      merged = { running, host: { ...running, options: ecvOptions, monToken: options.monToken ?? running.monToken } };
    }
    return merged.host;
  };
  return {
    get path() {
      return current().options.path;
    },
    match: (url) => matchEcvRoute(url, current().options.path),
    answer: (route, request) => answerEcv(route, request, current()),
  };
}
