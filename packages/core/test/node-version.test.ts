import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// `.ci/run` runs the whole suite once per supported Node version and sets CLUSTER2_EXPECT_NODE to
// the version it installed: this proves the runner, and the fixtures it forks through
// `process.execPath`, really are that version (and not the machine's Node found first on PATH).
describe('the Node running the tests', () => {
  it('forks fixtures with the same Node binary the runner uses, the one CI asked for', () => {
    const childVersion = execFileSync(process.execPath, ['-p', 'process.version'], { encoding: 'utf8' }).trim();
    expect(childVersion).toBe(process.version);
    const expected = process.env.CLUSTER2_EXPECT_NODE;
    if (expected !== undefined && expected !== '') expect(process.version).toBe(expected);
    const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
    // The engines range every package states: >=20.19 <21 || >=22.
    expect(major === 20 ? minor >= 19 : major >= 22).toBe(true);
    console.log(`node-version: tests run on Node ${process.version}`);
  });
});
