import {
  Cluster,
  assertMountedEcvPath,
  createEcvResponder,
  DEFAULT_MOUNT,
  ecvRequestOf,
  listenApp,
  markEcvMounted,
  onDrained,
  onDraining,
  resolveMountOptions,
  servingContext,
  type AppOrBuilder,
  type ClusterOptions,
  type EcvRoute,
  type MountedEcv,
  type MountOptions,
} from '@cluster2/core';
import type http from 'node:http';
import type { FastifyInstance, FastifyPluginAsync, HTTPMethods } from 'fastify';
import fp from 'fastify-plugin';

/** The per-worker options of the mounting call: the same names and defaults as the Cluster's. */
export type Cluster2PluginOptions = MountOptions;

declare module 'fastify' {
  interface FastifyInstance {
    /** The Cluster serving this worker (`delegate`, `subscribe`, `ready`, `ecv`, …); undefined when no Cluster listens in this process. */
    cluster2: Cluster | undefined;
  }
  interface FastifyRequest {
    /** The Cluster serving this worker; undefined when no Cluster listens in this process. */
    cluster2: Cluster | undefined;
  }
}

/** Options fastify's `register()` itself reads: they may appear in any plugin's options. */
const REGISTER_KEYS = ['prefix', 'logLevel', 'logSerializers'];
const kMount = Symbol.for('cluster2.fastify.mount');
type Mounted = FastifyInstance & { [kMount]?: MountedEcv };

/** Each ECV route, the method it answers, and the methods that get its 405 (HEAD comes with GET). */
const ROUTES: [suffix: string, route: EcvRoute, methods: HTTPMethods[]][] = [
  ['', 'status', ['GET', 'DELETE', 'OPTIONS', 'PATCH', 'POST', 'PUT']],
  ['/live', 'live', ['GET', 'DELETE', 'OPTIONS', 'PATCH', 'POST', 'PUT']],
  ['/enable', 'enable', ['POST', 'DELETE', 'GET', 'OPTIONS', 'PATCH', 'PUT']],
  ['/disable', 'disable', ['POST', 'DELETE', 'GET', 'OPTIONS', 'PATCH', 'PUT']],
];

const plugin: FastifyPluginAsync<Cluster2PluginOptions> = async (fastify, options) => {
  // Registered twice (say by the app and by listen()): the first registration serves.
  if (fastify.hasDecorator('cluster2')) return;
  const own = resolveMountOptions(options, 'cluster2Plugin', REGISTER_KEYS);
  const responder = createEcvResponder(own.ecv);
  const path = responder.path;
  const cluster = () => servingContext()?.cluster as Cluster | undefined;
  fastify.decorate('cluster2', { getter: cluster });
  fastify.decorateRequest('cluster2', { getter: cluster });
  (fastify as Mounted)[kMount] = { options: own, path };
  // Real routes, so printRoutes(), hooks and inject() see them; answerEcv answers 405 (or 404
  // with control off) for the methods a route does not serve.
  for (const [suffix, route, method] of ROUTES) {
    fastify.route({
      method,
      url: path + suffix,
      handler: async (request, reply) => {
        const answer = await responder.answer(route, ecvRequestOf(request.raw));
        return reply.code(answer.status).headers(answer.headers).send(answer.body);
      },
    });
  }
  markEcvMounted(fastify.server);
  // Fastify's close() must not run while the worker drains: it would close the listener at once
  // (cutting shutdownDelay short), answer requests on kept-alive sockets with 503, and its
  // http.Server#close() destroys idle keep-alive sockets at once (the reset race cluster2's drain
  // avoids); and it runs onClose hooks only once every socket is gone, the very moment the worker
  // exits. So it runs after core's drain, and the worker waits for it before exiting.
  const off = onDrained(() => fastify.close());
  // @fastify/websocket closes its sockets in a preClose hook, which only close() runs, and close()
  // must wait for the drain, which waits for those very sockets: close them as the drain starts.
  const offDraining = onDraining(() => closeWebSockets(fastify));
  fastify.addHook('onClose', async () => {
    off();
    offDraining();
  });
};

/** The sockets of @fastify/websocket (its documented `websocketServer` decorator), closed with 1001 Going Away. */
function closeWebSockets(fastify: FastifyInstance): void {
  const server = (fastify as { websocketServer?: { clients?: Iterable<{ close(code: number, reason: string): void }> } }).websocketServer;
  for (const client of server?.clients ?? []) client.close(1001, 'server draining');
}

/**
 * The Fastify plugin: ECV as real routes (`GET {path}` (+HEAD), `GET {path}/live`,
 * `POST {path}/enable|disable`; other methods 405), and the `app.cluster2` / `request.cluster2`
 * decorators. In a worker, the app is closed (its `onClose` hooks run) once the worker has drained.
 */
export const cluster2Plugin = fp(plugin, { name: '@cluster2/fastify', fastify: '5.x' });
export default cluster2Plugin;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any instance, whatever its logger and type provider: unknown would reject an app typed with its own
type AnyFastify = FastifyInstance<http.Server, any, any, any, any>;

/**
 * Runs `app` clustered. In the master nothing of the app boots: no plugin loads, no `ready()`, no
 * `listen()` (the master only forks and supervises). In each worker (and with `cluster: false`):
 * `app` may be a function that builds the app (called only there); registers `cluster2Plugin` when
 * the app lacks it, waits for `app.ready()` (your plugins load here), then
 * `new Cluster(options).listen(() => app.server)`. Cluster2's `timeout` is the idle timeout
 * (Fastify's `connectionTimeout` and `keepAliveTimeout` no longer end sockets); `server.keepAliveTimeout`
 * is capped at it so that the `Keep-Alive: timeout=` clients see never promises more than cluster2 keeps.
 * Resolves with the Cluster: in the master once every worker listens, in a worker once it listens.
 */
export function listen(app: AppOrBuilder<AnyFastify>, options: ClusterOptions = {}): Promise<Cluster> {
  return listenApp(app, options, {
    describe: 'a Fastify instance',
    isApp: (value): value is AnyFastify =>
      typeof (value as AnyFastify | undefined)?.register === 'function' && typeof (value as AnyFastify).ready === 'function',
    prepare: async (fastify) => {
      // Not awaited: awaiting a registration loads the plugins; ready() below loads them all at once.
      if (!fastify.hasDecorator('cluster2')) fastify.register(cluster2Plugin, { ecv: options.ecv, timeout: options.timeout, idleGrace: options.idleGrace });
      await fastify.ready();
      const mount = (fastify as Mounted)[kMount] ?? DEFAULT_MOUNT;
      assertMountedEcvPath(mount, options, 'cluster2Plugin', 'the plugin');
      return {
        mount: mount.options,
        server: (cluster) => {
          markEcvMounted(fastify.server);
          // An HTTP/2 server (`http2: true`) has no keepAliveTimeout: its sessions' idle timeout is core's.
          if (typeof fastify.server.keepAliveTimeout === 'number') {
            fastify.server.keepAliveTimeout = Math.min(fastify.server.keepAliveTimeout, cluster.options.timeout);
          }
          return fastify.server;
        },
      };
    },
  });
}
