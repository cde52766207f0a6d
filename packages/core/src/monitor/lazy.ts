import { bearerToken, controlRequestOf, refuseControl, refuseToken } from '../access.js';
import { Cluster2Error } from '../errors.js';
import type { MonitorCore, MonitorOptions, MonitorServer } from './server.js';

const core: MonitorCore = {
  access: { controlRequestOf, refuseControl, refuseToken, bearerToken },
  portInUse: (message, cause) => new Cluster2Error('ERR_CLUSTER2_PORT_IN_USE', message, { cause }),
};

/**
 * Starts a monitor server (dashboard, `/api/*`, `/metrics`); rejects with ERR_CLUSTER2_PORT_IN_USE
 * when the port is taken. Its code loads on first use, so workers never pay for it.
 */
export async function startMonitor(options: MonitorOptions): Promise<MonitorServer> {
  const server = await import('./server.js');
  return server.startMonitor(options, core);
}
