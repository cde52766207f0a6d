import { debuglog } from 'node:util';

const debug = debuglog('cluster2');

interface Controllable {
  shutdown(): Promise<void>;
  stop(): Promise<void>;
  reload(): Promise<void>;
}

interface SignalHost {
  emit(event: string, ...args: unknown[]): boolean;
}

/**
 * The master's signal table (docs/events-and-errors.md "Signals"). Returns a function that removes every listener
 * it installed.
 */
export function installSignals(target: Controllable, host: SignalHost): () => void {
  let interrupts = 0;
  const report = (what: string) => (error: Error) => debug('%s failed: %s', what, error.message);
  const table: Record<string, () => void> = {
    SIGTERM: () => void target.shutdown().catch(report('shutdown')),
    SIGINT: () => {
      interrupts++;
      // A second Ctrl-C means "now".
      if (interrupts === 1) void target.shutdown().catch(report('shutdown'));
      else void target.stop().catch(report('stop'));
    },
    SIGUSR2: () => void target.reload().catch(report('reload')),
    SIGHUP: () => void target.reload().catch(report('reload')),
    SIGQUIT: () => void target.stop().catch(report('stop')),
  };
  const installed = Object.entries(table).map(([signal, act]) => {
    const listener = () => {
      host.emit(signal, signal);
      act();
    };
    process.on(signal, listener);
    return () => process.off(signal, listener);
  });
  return () => {
    for (const remove of installed) remove();
  };
}
