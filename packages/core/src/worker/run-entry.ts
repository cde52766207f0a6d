import Module from 'node:module';

/** `Module.runMain` is how node itself starts the entry of `node <file>`; it is missing from the typings. */
interface RunnableModule {
  runMain(main?: string): void;
}

/**
 * Runs `script` as node would run `node script ...args`: process.argv as the app expects it,
 * `require.main === module` (CommonJS) and `import.meta.main` (ES modules, Node 22.18+) true, and
 * TypeScript where this node strips types. A CommonJS entry that throws while loading throws here;
 * an ES module's failure surfaces as an unhandled rejection, which ends the worker as it would end
 * `node script`.
 */
export function runEntry(script: string, args: readonly string[]): void {
  process.argv = [process.argv[0]!, script, ...args];
  (Module as unknown as RunnableModule).runMain(script);
}

/**
 * PM2's readiness call, `process.send('ready')`: taken here rather than sent to the master, where
 * it would arrive as a stray message. Every other message passes through unchanged.
 */
export function onReadyMessage(ready: () => void): void {
  const send = process.send?.bind(process);
  if (send === undefined) return;
  process.send = function (message: unknown, ...rest: unknown[]): boolean {
    if (message === 'ready') {
      ready();
      return true;
    }
    return (send as (...all: unknown[]) => boolean)(message, ...rest);
  };
}
