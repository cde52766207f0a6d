import { answerEcv, ecvRequestOf, matchEcvRoute, writeEcvAnswer } from '../ecv/handler.js';
import type { EcvHost } from '../ecv/state.js';
import type { RequestInterceptor } from './traffic.js';

/** ECV for plain http/https servers: its routes answer before the app's own handler. */
export function plainHttpEcv(host: EcvHost): RequestInterceptor {
  return (req, res) => {
    const route = matchEcvRoute(req.url, host.options.path);
    if (route === undefined) return false;
    answerEcv(route, ecvRequestOf(req), host).then(
      (answer) => writeEcvAnswer(res, answer, req.method === 'HEAD'),
      () => writeEcvAnswer(res, { status: 500, headers: {}, body: '' }, false),
    );
    return true;
  };
}
