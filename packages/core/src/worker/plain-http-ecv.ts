import { answerEcv, ecvRequestOf, ecvRequestOfStream, matchEcvRoute, writeEcvAnswer, writeEcvAnswerOnStream } from '../ecv/handler.js';
import type { EcvHost } from '../ecv/state.js';
import type { RequestInterceptor } from './traffic.js';

const FAILED = { status: 500, headers: {}, body: '' };

/** ECV for plain http/https/http2 servers: its routes answer before the app's own handler. */
export function plainHttpEcv(host: EcvHost): RequestInterceptor {
  return {
    http1(req, res) {
      const route = matchEcvRoute(req.url, host.options.path);
      if (route === undefined) return false;
      answerEcv(route, ecvRequestOf(req), host).then(
        (answer) => writeEcvAnswer(res, answer, req.method === 'HEAD'),
        () => writeEcvAnswer(res, FAILED, false),
      );
      return true;
    },
    http2(stream, headers) {
      const route = matchEcvRoute(headers[':path'], host.options.path);
      if (route === undefined) return false;
      answerEcv(route, ecvRequestOfStream(stream, headers), host).then(
        (answer) => writeEcvAnswerOnStream(stream, answer, headers[':method'] === 'HEAD'),
        () => writeEcvAnswerOnStream(stream, FAILED, false),
      );
      return true;
    },
  };
}
