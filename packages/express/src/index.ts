import http from 'node:http';
import {
  Cluster,
  createEcvResponder,
  ecvRequestOf,
  listenApp,
  markEcvMounted,
  resolveMountOptions,
  servingContext,
  type AppOrBuilder,
  type ClusterOptions,
  type MountOptions,
} from '@cluster2/core';
import type { Application, RequestHandler } from 'express';

/** Runs `hook` once this worker has drained (every request answered), before it exits; the exit waits for it. Close pools here. */
export { onDrained } from '@cluster2/core';

/** The per-worker options of the mounting call: the same names and defaults as the Cluster's. */
export type Cluster2Options = MountOptions;

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express types req through this global namespace: merging into it is the only way to add req.cluster2
  namespace Express {
    interface Request {
      /** The Cluster serving this worker (`delegate`, `subscribe`, `ready`, `ecv`, …); undefined when no Cluster listens in this process. */
      cluster2?: Cluster | undefined;
    }
  }
}

const kOptions = Symbol.for('cluster2.express.options');
type Mountable = RequestHandler & { [kOptions]: Cluster2Options };
type Raw = http.IncomingMessage & { originalUrl?: string; cluster2?: Cluster | undefined };

/** ECV and `req.cluster2` on plain node objects, so that `listen()` can run it in front of the app as well. */
function ecvHandler(options: Cluster2Options): (req: Raw, res: http.ServerResponse, next: (error?: unknown) => void) => void {
  const responder = createEcvResponder(options.ecv);
  return (req, res, next) => {
    req.cluster2 = servingContext()?.cluster as Cluster | undefined;
    const route = responder.match(req.originalUrl ?? req.url);
    if (route === undefined) return next();
    responder.answer(route, ecvRequestOf(req)).then((answer) => {
      res.writeHead(answer.status, answer.headers);
      res.end(req.method === 'HEAD' ? undefined : answer.body);
    }, next);
  };
}

/**
 * Express middleware: answers the ECV routes (`GET {path}`, `{path}/live`, `POST {path}/enable|disable`)
 * and sets `req.cluster2` to the serving Cluster. Mount it before your routes; mounting it twice is harmless.
 */
export function cluster2(options: Cluster2Options = {}): RequestHandler {
  const own = resolveMountOptions(options, 'cluster2()');
  const handler = ecvHandler(own);
  const middleware: RequestHandler = (req, res, next) => handler(req, res, next);
  return Object.assign(middleware, { [kOptions]: own }) satisfies Mountable;
}

/** The options of the `cluster2()` middleware mounted on `app`, if any. */
function mountedOptions(app: Application): Cluster2Options | undefined {
  // Express 5 exposes its router as `app.router`; a mounted middleware is a layer of its stack.
  const stack = (app.router as unknown as { stack?: { handle?: Partial<Mountable> }[] }).stack ?? [];
  return stack.find((layer) => layer.handle?.[kOptions] !== undefined)?.handle?.[kOptions];
}

/**
 * Runs `app` clustered: `new Cluster(options).listen(...)` with an http server for the app. Mounts
 * `cluster2()` in front of the app when it is not mounted yet. `app` may be a function that builds
 * the app: it is called only in workers (and with `cluster: false`), never in the master, so what
 * it opens (database pools, …) exists only where requests are served; close those in `onDrained()`.
 * Resolves with the Cluster: in the master once every worker listens, in a worker once it listens.
 */
export function listen(app: AppOrBuilder<Application>, options: ClusterOptions = {}): Promise<Cluster> {
  return listenApp(app, options, {
    describe: 'an Express app',
    // An Express app is itself a function: its methods tell it from a builder.
    isApp: (value): value is Application =>
      typeof value === 'function' && typeof (value as Application).use === 'function' && typeof (value as Application).listen === 'function',
    prepare: (express) => {
      const mount = mountedOptions(express);
      // Not mounted: answer ECV in front of the app, as if `cluster2()` were its first middleware.
      const ecv = mount ? undefined : ecvHandler({});
      return {
        mount: mount ?? {},
        server: () => {
          const server = http.createServer(ecv ? (req, res) => ecv(req, res, () => void express(req, res)) : express);
          markEcvMounted(server);
          return server;
        },
      };
    },
  });
}
