import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';

const engines = (JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { engines: { node: string } }).engines.node;

/** The `^a.b.c` and `>=a.b.c` alternatives our engines field uses, joined by `||`. */
function satisfiesEngines(version: string, range: string): boolean {
  const [major, minor, patch] = version.split('.').map(Number) as [number, number, number];
  return range.split('||').some((alternative) => {
    const match = /^\s*(\^|>=)(\d+)\.(\d+)\.(\d+)\s*$/.exec(alternative);
    if (match === null) throw new Error(`unexpected engines alternative "${alternative}"`);
    const [, op, a, b, c] = match as unknown as [string, string, string, string, string];
    const atLeast = major !== Number(a) ? major > Number(a) : minor !== Number(b) ? minor > Number(b) : patch >= Number(c);
    return atLeast && (op === '>=' || major === Number(a));
  });
}

// `.ci/run` runs the whole suite once per supported Node version and sets CLUSTER2_EXPECT_NODE to
// the version it installed: this proves the runner, and the fixtures it forks through
// `process.execPath`, really are that version (and not the machine's Node found first on PATH).
describe('the Node running the tests', () => {
  it('forks fixtures with the same Node binary the runner uses, the one CI asked for, inside the engines range', () => {
    const childVersion = execFileSync(process.execPath, ['-p', 'process.version'], { encoding: 'utf8' }).trim();
    expect(childVersion).toBe(process.version);
    const expected = process.env.CLUSTER2_EXPECT_NODE;
    if (expected !== undefined && expected !== '') expect(process.version).toBe(expected);
    expect(satisfiesEngines(process.versions.node, engines), `Node ${process.version} against engines "${engines}"`).toBe(true);
    console.log(`node-version: tests run on Node ${process.version}`);
  });
});
