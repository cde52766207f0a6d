// The end-of-run table of the reliability suite (no vitest import: globalSetup loads it too).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

declare module 'vitest' {
  export interface ProvidedContext {
    /** This run's summary rows (JSON lines), named by summary.global.ts. */
    reliabilitySummaryFile: string;
  }
}

export const artifactsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

/** One row of the table printed at the end of the run. */
export interface SummaryRow {
  scenario: string;
  sent: number;
  succeeded: number;
  failed: number;
  notes?: string;
}

/** The rows recorded so far, as a fixed-width table. */
export function summaryTable(rows: SummaryRow[]): string {
  const header = ['scenario', 'sent', 'succeeded', 'failed', 'notes'];
  const cells = rows.map((r) => [r.scenario, String(r.sent), String(r.succeeded), String(r.failed), r.notes ?? '']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((v, i) => (i >= 1 && i <= 3 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}
