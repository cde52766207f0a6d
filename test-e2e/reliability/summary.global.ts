// vitest globalSetup: gives this run its own summary file (other runs of the e2e project may be
// going on at the same time), then prints the rows the scenarios recorded as a table and keeps it
// in artifacts/reliability-summary.md. Prints nothing when no reliability scenario ran.
import fs from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { artifactsDir, summaryTable, type SummaryRow } from './summary.js';

export default function setup(project: TestProject): () => void {
  const file = path.join(artifactsDir, `reliability-summary.${process.pid}.jsonl`);
  fs.rmSync(file, { force: true });
  project.provide('reliabilitySummaryFile', file);
  return () => {
    if (!fs.existsSync(file)) return;
    const rows = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as SummaryRow);
    fs.rmSync(file, { force: true });
    if (rows.length === 0) return;
    const table = summaryTable(rows);
    fs.writeFileSync(path.join(artifactsDir, 'reliability-summary.md'), `# Reliability summary (${new Date().toISOString()})\n\n${table}\n`);
    console.log(`\nReliability summary\n${table}\n`);
  };
}
