/** How long repeats of one warning are collapsed into a single summary line, ms. */
export const WARNING_PERIOD = 10_000;

interface Window {
  /** Repeats since the window opened, not reported yet. */
  repeats: number;
  timer: NodeJS.Timeout;
}

/**
 * One warning per key (e.g. a worker and what it did) per period: the first is reported at once,
 * repeats within the period are only counted and reported as one line when it ends
 * ("… and 287 more in the last 10 s"). A worker sending thousands of refused messages then costs
 * the logger, the `warning` listeners and the event log two lines per period, not one per message.
 */
export class WarningThrottle {
  readonly #warn: (message: string, pid?: number) => void;
  readonly #period: number;
  readonly #windows = new Map<string, Window>();

  constructor(warn: (message: string, pid?: number) => void, period = WARNING_PERIOD) {
    this.#warn = warn;
    this.#period = period;
  }

  /** `summary` describes the repeats: "… and N more <summary> in the last 10 s". */
  report(key: string, pid: number, message: string, summary: string): void {
    const open = this.#windows.get(key);
    if (open !== undefined) {
      open.repeats++;
      return;
    }
    this.#warn(message, pid);
    const window: Window = {
      repeats: 0,
      timer: setTimeout(() => {
        this.#windows.delete(key);
        if (window.repeats > 0) {
          this.#warn(`… and ${window.repeats} more ${summary} in the last ${this.#period / 1000} s`, pid);
        }
      }, this.#period),
    };
    // Warnings never keep a master alive.
    window.timer.unref();
    this.#windows.set(key, window);
  }

  /** Forgets every open window without reporting (the router closes). */
  clear(): void {
    for (const window of this.#windows.values()) clearTimeout(window.timer);
    this.#windows.clear();
  }
}
