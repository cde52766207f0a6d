import type { MonitorOptions, MonitorServer } from './server.js';

/** Starts a monitor server; its code loads on first use, so workers never pay for it. */
export async function startMonitor(options: MonitorOptions): Promise<MonitorServer> {
  const server = await import('./server.js');
  return server.startMonitor(options);
}
