import type { LifecycleEvent } from '../../status.js';

/** A lifecycle event as one of cluster2's own log lines. */
export interface LifecycleLine {
  level: 'info' | 'warn' | 'error';
  msg: string;
}

/** What the master knows of a worker when it writes about it. */
export interface WorkerFacts {
  /** 'w0' … */
  label: string;
  /** It was told to go (recycle, reload, shutdown): its exit is no crash. */
  planned: boolean;
  /** Its last stderr lines, for a crash. */
  stderrTail: string;
  /** What the recycle reason measured (`5012 requests`, `rss 612 MiB`). */
  figure?: string;
}

/**
 * One line an operator can read for every event of the master's life: a worker forked, listening,
 * died (with the last stderr lines of a crash), respawning (after what delay), recycled (why, and
 * the figure), draining; a reload started, finished or failed; ECV flipped; the master gave up.
 */
export function describeEvent(event: LifecycleEvent, worker: WorkerFacts | undefined): LifecycleLine {
  const who = event.pid === undefined ? 'the master' : `worker ${event.pid}${worker ? ` (${worker.label})` : ''}`;
  switch (event.type) {
    case 'forked':
      return info(`${who} forked`);
    case 'fork-failed':
      return error(event.message ?? 'a worker could not be forked');
    case 'listening':
      return info(`${who} listening`);
    case 'died': {
      const how = event.signal ? `signal ${event.signal}` : `code ${event.code}`;
      if (worker?.planned) return info(`${who} exited (${how})`);
      const tail = worker?.stderrTail ? `; last stderr: ${worker.stderrTail.split('\n').join(' | ')}` : '';
      return error(`${who} died (${how})${tail}`);
    }
    case 'respawn':
      return info(`${who} is replaced in ${event.delay ?? 0} ms`);
    case 'recycled':
      return info(`${who} recycled (${event.reason}${worker?.figure ? `: ${worker.figure}` : ''}); its successor listens, it drains`);
    case 'draining':
      return info(`${who} draining: ${event.sockets ?? 0} connection${event.sockets === 1 ? '' : 's'} open`);
    case 'reload':
      return info('rolling reload started');
    case 'reloaded':
      return info('rolling reload finished: every worker replaced');
    case 'reload-failed':
      return error(`rolling reload failed: ${event.message}; the workers that served before it still serve`);
    case 'enabled':
      return info('ECV enabled: health checks answer available');
    case 'disabled':
      return warn('ECV disabled: health checks answer unavailable, load balancers take this server out');
    case 'giveup':
      return error(`gave up: ${event.reason}`);
    case 'shutdown':
      return info('graceful shutdown started');
    case 'stopped':
      return info('stopped');
    case 'warning':
      return warn(event.message ?? '');
  }
}

const info = (msg: string): LifecycleLine => ({ level: 'info', msg });
const warn = (msg: string): LifecycleLine => ({ level: 'warn', msg });
const error = (msg: string): LifecycleLine => ({ level: 'error', msg });
