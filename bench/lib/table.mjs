// Markdown output: one table per section, plus the machine header.
import os from 'node:os';

/** Formats a cell: numbers get thousands separators or a fixed number of decimals. */
export function cell(value) {
  if (value === undefined || value === null) return '';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'n/a';
    if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
    if (Number.isInteger(value)) return String(value);
    return value.toFixed(Math.abs(value) >= 10 ? 1 : 2);
  }
  return String(value).replace(/\|/g, '\\|');
}

/** A markdown table from `columns` (header names) and `rows` (objects keyed by those names). */
export function markdownTable(columns, rows) {
  const lines = [`| ${columns.join(' | ')} |`, `| ${columns.map(() => '---').join(' | ')} |`];
  for (const row of rows) lines.push(`| ${columns.map((c) => cell(row[c])).join(' | ')} |`);
  return lines.join('\n');
}

/** What the numbers were measured on. */
export function machine() {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    date: new Date().toISOString(),
    loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** The whole results document: header, then each section's title, notes and table. */
export function renderResults({ machine: m, mode, sections, durationS }) {
  const out = [
    '# cluster2 benchmarks',
    '',
    `Measured ${m.date} on ${m.cores} cores (${m.cpu}), Node ${m.node}, ${m.os}; load average at start ${m.loadavg.join(' / ')}.`,
    `Mode: ${mode}; whole run ${durationS} s. Regenerate with \`npm run bench\` (or \`node bench/run.mjs\` after \`pnpm build\`).`,
    'Every comparison interleaves its contenders (A B C, A B C, …) and reports medians; ratios are against the row named in the notes.',
    '',
  ];
  for (const s of sections) out.push(...renderSection(s));
  return out.join('\n');
}

/** One section's lines: heading (the title, then `heading` in parentheses if given), notes, tables. */
function renderSection(s, heading) {
  const out = [`## ${s.title}${heading ? ` (${heading})` : ''}`, ''];
  if (s.status !== 'ok') out.push(`**${s.status}**${s.error ? `: ${s.error}` : ''}`, '');
  for (const note of s.notes ?? []) out.push(`- ${note}`);
  if (s.notes?.length) out.push('');
  for (const t of s.tables ?? []) {
    if (t.caption) out.push(`*${t.caption}*`, '');
    out.push(markdownTable(t.columns, t.rows), '');
  }
  return out;
}

/**
 * `existing` (a RESULTS.md) with the sections of a partial run (`--only`) put in: each replaces
 * the block under its own numbered heading (\`## <id>. …\`, up to the next heading), or, when it has
 * none yet, goes after the block of the closest lower-numbered section. Each heading says when and
 * how that section was run, since the document's header describes another run.
 */
export function spliceResults(existing, { machine: m, mode, sections, durationS }, only) {
  const lines = existing.split('\n');
  const isHeading = (line) => line.startsWith('## ') || line.startsWith('# ');
  const idOf = (line) => Number(/^## (\d+)\. /.exec(line)?.[1] ?? NaN);
  const blockEnd = (start) => {
    let end = start + 1;
    while (end < lines.length && !isHeading(lines[end])) end++;
    return end;
  };
  const when = `${m.date.slice(0, 16).replace('T', ' ')} UTC`;
  const heading = `run ${when}, \`node bench/run.mjs --only ${only}${mode === 'quick' ? ' --quick' : ''}\`, ${durationS} s, load average ${m.loadavg[0]} at the start, Node ${m.node}`;
  for (const s of sections) {
    const block = [...renderSection(s, heading)];
    const at = lines.findIndex((line) => idOf(line) === s.id);
    if (at >= 0) {
      lines.splice(at, blockEnd(at) - at, ...block);
      continue;
    }
    let after = -1;
    lines.forEach((line, i) => {
      if (idOf(line) < s.id && (after < 0 || idOf(line) > idOf(lines[after]))) after = i;
    });
    const insertAt = after < 0 ? lines.length : blockEnd(after);
    if (insertAt === lines.length && lines.at(-1) !== '') block.unshift('');
    lines.splice(insertAt, 0, ...block);
  }
  return lines.join('\n');
}
