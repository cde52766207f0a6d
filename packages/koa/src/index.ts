import http from 'node:http';
import {
  Cluster,
  assertMountedEcvPath,
  createEcvResponder,
  ecvRequestOf,
  listenApp,
  markEcvMounted,
  resolveMountOptions,
  servingContext,
  type AppOrBuilder,
  type ClusterOptions,
  type EcvRoute,
  type MountedEcv,
  type MountOptions,
} from '@cluster2/core';
import { Router, type RouterMiddleware } from '@koa/router';
import type Koa from 'koa';

/** Runs `hook` once this worker has drained (every request answered), before it exits; the exit waits for it. Close pools here. */
export { onDrained } from '@cluster2/core';

/** The per-worker options of the mounting call: the same names and defaults as the Cluster's. */
export type Cluster2KoaOptions = MountOptions;

declare module 'koa' {
  interface DefaultContext {
    /** The Cluster serving this worker (`delegate`, `subscribe`, `ready`, `ecv`, …); undefined when no Cluster listens in this process. */
    cluster2: Cluster | undefined;
  }
}

const kMount = Symbol.for('cluster2.koa.mount');
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any app, whatever its state and context types: Koa<unknown, unknown> would reject an app typed with its own
type AnyKoa = Koa<any, any>;
type Mounted = AnyKoa & { [kMount]?: MountedEcv };

/** Each ECV route and the method it answers (HEAD comes with GET); `all` then answers the rest with 405. */
const ROUTES: [suffix: string, route: EcvRoute, method: 'get' | 'post'][] = [
  ['', 'status', 'get'],
  ['/live', 'live', 'get'],
  ['/enable', 'enable', 'post'],
  ['/disable', 'disable', 'post'],
];

/**
 * Mounts cluster2 on a Koa app: `ctx.cluster2` (the serving Cluster) on every context, and the ECV
 * routes through @koa/router (`GET {path}` (+HEAD), `GET {path}/live`, `POST {path}/enable|disable`;
 * other methods 405). Call it before your own middleware; calling it twice is harmless. Returns `app`.
 */
export function cluster2Koa<T extends AnyKoa>(app: T, options: Cluster2KoaOptions = {}): T {
  if ((app as Mounted)[kMount]) return app;
  const own = resolveMountOptions(options, 'cluster2Koa()');
  const responder = createEcvResponder(own.ecv);
  const path = responder.path;
  (app as Mounted)[kMount] = { options: own, path };
  // app.context is the prototype of every ctx: a getter there reaches middleware mounted before this.
  Object.defineProperty(app.context, 'cluster2', { configurable: true, get: () => servingContext()?.cluster });
  const router = new Router();
  for (const [suffix, route, method] of ROUTES) {
    const answer: RouterMiddleware = async (ctx) => {
      const result = await responder.answer(route, ecvRequestOf(ctx.req));
      ctx.status = result.status;
      ctx.set(result.headers);
      ctx.body = result.body;
    };
    router[method](path + suffix, answer);
    // The methods this route does not serve: answerEcv says 405 with Allow (404 with control off).
    router.all(path + suffix, answer);
  }
  const routes = router.routes();
  // The router matches each of its routes' patterns against every request; a request outside the
  // ECV path (nearly all of them) skips it on one string comparison.
  app.use((ctx: Parameters<typeof routes>[0], next: Koa.Next): Promise<unknown> => (ctx.url.startsWith(path) ? routes(ctx, next) : next()));
  return app;
}

/**
 * Runs `app` clustered: `new Cluster(options).listen()` with `http.createServer(app.callback())`.
 * Mounts `cluster2Koa()` in front of the app's middleware when it is not mounted yet. `app` may be a
 * function that builds the app: it is called only in workers (and with `cluster: false`), never in
 * the master, so what it opens (database pools, …) exists only where requests are served; close
 * those in `onDrained()`. Resolves with the Cluster: in the master once every worker listens, in a
 * worker once it listens.
 */
export function listen(app: AppOrBuilder<AnyKoa>, options: ClusterOptions = {}): Promise<Cluster> {
  return listenApp(app, options, {
    describe: 'a Koa app',
    isApp: (value): value is AnyKoa => typeof (value as AnyKoa | undefined)?.callback === 'function' && Array.isArray((value as AnyKoa).middleware),
    prepare: (koa) => {
      if (!(koa as Mounted)[kMount]) {
        cluster2Koa(koa, { ecv: options.ecv });
        // Not mounted by the app: ECV goes first, so no app middleware can answer its routes.
        koa.middleware.unshift(koa.middleware.pop()!);
      }
      const mount = (koa as Mounted)[kMount]!;
      assertMountedEcvPath(mount, options, 'cluster2Koa()', 'cluster2Koa()');
      return {
        mount: mount.options,
        server: () => {
          const handle = koa.callback();
          // Koa's handler answers its own errors; its promise carries nothing to wait for.
          const server = http.createServer((req, res) => void handle(req, res));
          markEcvMounted(server);
          return server;
        },
      };
    },
  });
}
