import net from 'node:net';
import { Cluster2Error } from '../errors.js';

/**
 * Binds and releases `port` on `host` to prove it is free before any worker is forked.
 * Port 0 asks the OS for a free port, which is returned so every worker (and every
 * replacement) gets the same one.
 */
export function claimPort(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      const where = `${host}:${port}`;
      if (error.code === 'EADDRINUSE') {
        reject(new Cluster2Error('ERR_CLUSTER2_PORT_IN_USE', `port ${where} is already in use`, { cause: error }));
      } else {
        reject(new Cluster2Error('ERR_CLUSTER2_PORT_IN_USE', `cannot listen on ${where}: ${error.message}`, { cause: error }));
      }
    });
    probe.listen({ port, host, exclusive: true }, () => {
      const bound = (probe.address() as net.AddressInfo).port;
      probe.close(() => resolve(bound));
    });
  });
}
