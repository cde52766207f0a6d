import net from 'node:net';
import { Cluster2Error } from '../errors.js';

export type ServerOrServers = net.Server | net.Server[];

/**
 * Makes the server(s) a worker listens with. Two styles are accepted:
 * the seed's `(cb) => cb(server)`, and a factory that returns the server(s) or a promise of them.
 */
export type ServerFactory = ((handOver: (server: ServerOrServers) => void) => unknown) | (() => ServerOrServers | Promise<ServerOrServers>);

function isServer(value: unknown): value is net.Server {
  return value instanceof net.Server;
}

function toServers(value: unknown): net.Server[] | undefined {
  if (isServer(value)) return [value];
  if (Array.isArray(value) && value.length > 0 && value.every(isServer)) return value;
  return undefined;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

function notAServer(value: unknown): Cluster2Error {
  return new Cluster2Error(
    'ERR_CLUSTER2_INVALID_FACTORY',
    `the listen() factory must hand over a net.Server (http, https, net) or a non-empty array of them; got ${
      value === undefined ? 'undefined' : Object.prototype.toString.call(value)
    }`,
  );
}

/** Runs the factory in either style and resolves with its servers; fails after `timeoutMs` (option startTimeout). */
export function callFactory(factory: ServerFactory, timeoutMs: number): Promise<net.Server[]> {
  if (typeof factory !== 'function') return Promise.reject(notAServer(factory));
  return new Promise<net.Server[]>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settle(new Cluster2Error('ERR_CLUSTER2_FACTORY_FAILED', `the listen() factory handed over no server within ${timeoutMs} ms`));
    }, timeoutMs);
    timer.unref();
    function settle(result: unknown): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (result instanceof Error) return reject(result);
      const servers = toServers(result);
      if (servers) resolve(servers);
      else reject(notAServer(result));
    }
    const failed = (error: unknown) =>
      settle(new Cluster2Error('ERR_CLUSTER2_FACTORY_FAILED', `the listen() factory failed: ${(error as Error)?.message ?? String(error)}`, { cause: error }));
    let returned: unknown;
    try {
      returned = factory((server) => settle(server));
    } catch (error) {
      return failed(error);
    }
    if (isThenable(returned)) {
      returned.then((value) => value !== undefined && settle(value), failed);
    } else if (returned !== undefined) {
      settle(returned);
    } else if (factory.length === 0) {
      settle(undefined);
    }
  });
}

/** Listens each server on its port; a server the factory already started listening is kept as is. */
export async function listenAll(servers: net.Server[], ports: readonly number[], host: string): Promise<number[]> {
  if (servers.length !== ports.length) {
    throw new Cluster2Error(
      'ERR_CLUSTER2_INVALID_FACTORY',
      `the factory handed over ${servers.length} server(s) but option "port" names ${ports.length} port(s)`,
    );
  }
  await Promise.all(servers.map((server, i) => listenOne(server, ports[i]!, host)));
  return servers.map((server) => (server.address() as net.AddressInfo).port);
}

function listenOne(server: net.Server, port: number, host: string): Promise<void> {
  if (server.listening) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
