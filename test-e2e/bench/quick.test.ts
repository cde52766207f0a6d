// Keeps the benchmark harness working: `node bench/run.mjs --quick` must finish and report a
// number for every measurement of every section. The numbers themselves are not judged here (a
// shared 2-core CI machine is no place for that); bench/RESULTS.md holds a full run.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/fixture.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SECTIONS = ['throughput', 'respawn', 'reload', 'shutdown', 'delegation', 'idle', 'metrics', 'growth', 'websocket', 'sticky', 'start', 'logs', 'http2'];

function hasWrk(): boolean {
  try {
    execFileSync('wrk', ['-v'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    // `wrk -v` prints its version and usage, then exits 1; only a missing binary is ENOENT.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

interface Section {
  key: string;
  status: string;
  error?: string;
  summary: Record<string, unknown>;
  tables: { columns: string[]; rows: Record<string, unknown>[] }[];
}

function runQuick(out: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bench/run.mjs', '--quick', '--out', out], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-20_000)));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

describe('bench/run.mjs --quick', () => {
  it.skipIf(!hasWrk())(
    'measures every section and reports numbers for each',
    async () => {
      const dir = tempDir('bench-test');
      const out = path.join(dir, 'results.json');
      try {
        const { code, stderr } = await runQuick(out);
        expect(code, stderr).toBe(0);
        const doc = JSON.parse(fs.readFileSync(out, 'utf8')) as { machine: { cores: number; node: string }; sections: Section[] };
        expect(doc.machine.cores).toBeGreaterThan(0);
        expect(doc.machine.node).toBe(process.version);
        expect(doc.sections.map((s) => s.key)).toEqual(SECTIONS);
        for (const section of doc.sections) {
          expect(section.status, `${section.key}: ${section.error ?? ''}`).toBe('ok');
          const summary = Object.entries(section.summary);
          expect(summary.length, section.key).toBeGreaterThan(0);
          for (const [name, value] of summary) {
            expect(Number.isFinite(value), `${section.key}.${name} = ${String(value)}`).toBe(true);
          }
          expect(section.tables.length, section.key).toBeGreaterThan(0);
          for (const table of section.tables) {
            expect(table.rows.length, section.key).toBeGreaterThan(0);
            for (const row of table.rows) {
              expect(
                Object.values(row).some((v) => typeof v === 'number' && Number.isFinite(v)),
                `${section.key}: ${JSON.stringify(row)}`,
              ).toBe(true);
            }
          }
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    420_000,
  );
});
