// Readers for the deployment files in examples/deploy/, so the tests check the values the files
// hold rather than copies: a systemd unit (ini), a Dockerfile, the `cluster2 start` flags in a
// command line, and systemd time spans.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULTS } from '@cluster2/core';

export const DEPLOY_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/deploy');

export function deployFile(name: string): string {
  return fs.readFileSync(path.join(DEPLOY_DIR, name), 'utf8');
}

/** A unit file: section → key → every value given (a key may repeat). Comments and blank lines dropped. */
export function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const sections: Record<string, Record<string, string[]>> = {};
  let current: Record<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = sections[header[1]!] ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq < 1) throw new Error(`not a unit file line: ${raw}`);
    (current[line.slice(0, eq).trim()] ??= []).push(line.slice(eq + 1).trim());
  }
  return sections;
}

/** A systemd time span ("45", "45s", "1min 30s", "2m") in seconds; a bare number is seconds. */
export function timeSpanSeconds(span: string): number {
  const units: Record<string, number> = {
    '': 1,
    s: 1,
    sec: 1,
    second: 1,
    seconds: 1,
    m: 60,
    min: 60,
    minute: 60,
    minutes: 60,
    h: 3600,
    hr: 3600,
    hour: 3600,
    hours: 3600,
    ms: 0.001,
    msec: 0.001,
  };
  let total = 0;
  for (const part of span.trim().split(/\s+/)) {
    const match = /^(\d+(?:\.\d+)?)([a-z]*)$/.exec(part);
    if (!match || units[match[2]!] === undefined) throw new Error(`not a systemd time span: ${span}`);
    total += Number(match[1]) * units[match[2]!]!;
  }
  return total;
}

/** One Dockerfile instruction: its keyword (upper case) and its arguments, continuation lines joined. */
export interface Instruction {
  keyword: string;
  args: string;
}

export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    if (pending === '' && /^\s*#/.test(raw)) continue;
    const line = raw.replace(/\s+$/, '');
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    const whole = (pending + line).trim();
    pending = '';
    if (whole === '') continue;
    const [, keyword, args] = /^(\S+)\s*(.*)$/.exec(whole)!;
    instructions.push({ keyword: keyword!.toUpperCase(), args: args! });
  }
  return instructions;
}

/** The options a `cluster2 start` command line sets, as the test needs them (defaults from core). */
export interface StartFlags {
  entry: string;
  /** The port the app listens on: `cluster2 start` leaves it to the app, which reads PORT (`--env PORT=…`). */
  port: number;
  /** Every `--env KEY=VAL`. */
  env: Record<string, string>;
  ecvPath: string;
  ecvDisabledStatus: number;
  shutdownDelay: number;
  shutdownTimeout: number;
  /** `--no-pids`, or the directory of `--pids`. */
  pids: string | false;
  /** `--ecv`: serve the ECV routes on the app's http server. */
  ecv: boolean;
}

/** Reads `start <entry> --flag value …` (the arguments after the cluster2 binary). */
export function parseStartFlags(args: string[]): StartFlags {
  if (args[0] !== 'start' || !args[1]) throw new Error(`not a "cluster2 start <entry>" command line: ${args.join(' ')}`);
  const values = new Map<string, string | true>();
  const env: Record<string, string> = {};
  for (let i = 2; i < args.length; i++) {
    const flag = args[i]!;
    if (!flag.startsWith('--')) throw new Error(`unexpected argument ${flag} in ${args.join(' ')}`);
    const next = args[i + 1];
    if (next === undefined || next.startsWith('--')) values.set(flag, true);
    else if (flag === '--env') {
      const [key, ...value] = args[++i]!.split('=');
      env[key!] = value.join('=');
    } else values.set(flag, args[++i]!);
  }
  const number = (flag: string, fallback: number) => (values.has(flag) ? Number(values.get(flag)) : fallback);
  const pids = values.get('--pids');
  return {
    entry: args[1],
    port: Number(env.PORT ?? DEFAULTS.port),
    env,
    ecvPath: typeof values.get('--ecv-path') === 'string' ? (values.get('--ecv-path') as string) : DEFAULTS.ecv.path,
    ecvDisabledStatus: number('--ecv-disabled-status', DEFAULTS.ecv.disabledStatus),
    shutdownDelay: number('--shutdown-delay', DEFAULTS.shutdownDelay),
    shutdownTimeout: number('--shutdown-timeout', DEFAULTS.shutdownTimeout),
    pids: values.has('--no-pids') ? false : typeof pids === 'string' ? pids : DEFAULTS.pids,
    ecv: values.has('--ecv'),
  };
}

/** Splits a unit's ExecStart like systemd (whitespace, double quotes), dropping its prefixes (-@:+!). */
export function splitCommand(line: string): string[] {
  const words = [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
  words[0] = words[0]!.replace(/^[-@:+!]+/, '');
  return words;
}
