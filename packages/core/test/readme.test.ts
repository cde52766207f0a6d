// The reference tables of the user docs must match the code exactly: a new error code or option
// fails here until docs/events-and-errors.md or docs/options.md documents it.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../src/errors.js';
import { resolveOptions } from '../src/options.js';

const docs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs');

/** From `heading` up to the next heading of the same or a higher level. */
function section(file: string, heading: string): string {
  const text = `\n${fs.readFileSync(path.join(docs, file), 'utf8')}`;
  const start = text.indexOf(`\n${heading}\n`);
  if (start === -1) throw new Error(`docs/${file} has no heading "${heading}"`);
  const level = heading.indexOf(' ');
  const rest = text.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`^#{1,${level}} `, 'm'));
  return end === -1 ? rest : rest.slice(0, end);
}

/** Names in the first column of a markdown table: | `name` | … */
function tableKeys(text: string): string[] {
  return [...text.matchAll(/^\| `([A-Za-z_]+)` \|/gm)].map((m) => m[1]!).sort();
}

describe('reference tables in docs/', () => {
  it('docs/events-and-errors.md "Error codes" lists exactly the error codes of the registry', () => {
    const documented = [...section('events-and-errors.md', '## Error codes').matchAll(/^\| `(ERR_CLUSTER2_[A-Z_]+)` \|/gm)].map((m) => m[1]).sort();
    expect(documented).toEqual(Object.keys(ErrorCodes).sort());
  });

  it('docs/options.md documents exactly the options a Cluster resolves, and every key of ecv, restart and limits', () => {
    const resolved = resolveOptions({});
    const top = section('options.md', '# Options').split('\n## ')[0]!;
    expect(tableKeys(top)).toEqual(Object.keys(resolved).sort());
    expect(tableKeys(section('options.md', '## `ecv`'))).toEqual(Object.keys(resolved.ecv).sort());
    expect(tableKeys(section('options.md', '## `restart`'))).toEqual(Object.keys(resolved.restart).sort());
    expect(tableKeys(section('options.md', '## `limits`'))).toEqual(Object.keys(resolved.limits).sort());
  });
});
