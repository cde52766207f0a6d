// Keeps the user documentation honest: links resolve and runnable blocks run (readme.test.ts checks
// the error-code and options tables against the code). The marker for a runnable block is its info string
// (```js runnable, ```sh runnable); CONTRIBUTING.md "Documentation tests" says what each kind must do.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const docsDir = path.join(root, 'docs');
const checkedFiles = [
  'README.md',
  'CONTRIBUTING.md',
  'CHANGELOG.md',
  'bench/README.md',
  ...fs
    .readdirSync(docsDir)
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

interface CodeBlock {
  file: string;
  line: number;
  info: string;
  code: string;
}

interface ParsedMarkdown {
  /** Lines outside fenced code blocks, with inline code spans blanked out. */
  prose: { line: number; text: string }[];
  blocks: CodeBlock[];
}

const parsed = new Map<string, ParsedMarkdown>();

function parse(file: string): ParsedMarkdown {
  const cached = parsed.get(file);
  if (cached) return cached;
  const result: ParsedMarkdown = { prose: [], blocks: [] };
  const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
  let fence: { marker: string; info: string; line: number; code: string[] } | undefined;
  lines.forEach((text, index) => {
    const opening = /^\s*(`{3,}|~{3,})(.*)$/.exec(text);
    if (fence) {
      if (opening && opening[1]!.startsWith(fence.marker) && opening[2]!.trim() === '') {
        result.blocks.push({ file, line: fence.line, info: fence.info, code: fence.code.join('\n') });
        fence = undefined;
      } else {
        fence.code.push(text);
      }
    } else if (opening) {
      fence = { marker: opening[1]!, info: opening[2]!.trim(), line: index + 1, code: [] };
    } else {
      result.prose.push({ line: index + 1, text: text.replace(/(`+)(?:(?!\1)[\s\S])*?\1/g, '``') });
    }
  });
  parsed.set(file, result);
  return result;
}

/** GitHub's heading anchors: lowercase, punctuation other than - and _ dropped, spaces to -, repeats numbered. */
function anchorsOf(file: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const raw = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
  for (const { line } of parse(file).prose) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(raw[line - 1]!);
    if (!heading) continue;
    const text = heading[1]!.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

function linksOf(file: string): { line: number; target: string }[] {
  const links: { line: number; target: string }[] = [];
  for (const { line, text } of parse(file).prose) {
    for (const match of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push({ line, target: match[1]! });
  }
  return links;
}

describe('documentation links', () => {
  it('checks the README, CONTRIBUTING, CHANGELOG, bench/README and every page under docs/', () => {
    expect(checkedFiles).toEqual(expect.arrayContaining(['docs/README.md', 'docs/options.md', 'docs/events-and-errors.md']));
    expect(checkedFiles.length).toBeGreaterThanOrEqual(16);
  });

  it.each(checkedFiles)('every relative link and image in %s names an existing file, and every #anchor a heading there', (file) => {
    const broken: string[] = [];
    const links = linksOf(file);
    for (const { line, target } of links) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:: not ours to check
      const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
      const resolved = pathPart === '' ? path.join(root, file) : path.resolve(path.dirname(path.join(root, file)), decodeURIComponent(pathPart));
      if (!fs.existsSync(resolved)) {
        broken.push(`${file}:${line}: ${target}: no such file`);
        continue;
      }
      if (anchor !== undefined && resolved.endsWith('.md')) {
        const relative = path.relative(root, resolved);
        if (!anchorsOf(relative).has(anchor)) broken.push(`${file}:${line}: ${target}: no heading with anchor #${anchor} in ${relative}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('finds the anchors GitHub makes, and reports a link to a missing heading (the checker itself)', () => {
    const anchors = anchorsOf('docs/load-balancers.md');
    expect(anchors).toContain('ecv-routes-and-wire-format');
    expect(anchorsOf('docs/events-and-errors.md')).toContain('error-codes');
    expect(anchorsOf('docs/options.md')).toContain('ecv'); // "## `ecv`": backticks dropped
    expect(anchors).not.toContain('no-such-heading');
    expect(linksOf('README.md').map((link) => link.target)).toContain('docs/adapters.md#what-runs-in-the-master');
  });
});

const runnable = checkedFiles.flatMap((file) => parse(file).blocks).filter((block) => /\brunnable\b/.test(block.info));
const children: ChildProcess[] = [];
const tempDirs: string[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A directory where `@cluster2/*` resolve to the workspace packages, as they would from npm. */
function sandbox(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster2-docs-'));
  tempDirs.push(dir);
  fs.mkdirSync(path.join(dir, 'node_modules', '@cluster2'), { recursive: true });
  for (const name of ['core', 'express', 'fastify', 'koa']) {
    fs.symlinkSync(path.join(root, 'packages', name), path.join(dir, 'node_modules', '@cluster2', name), 'dir');
  }
  return dir;
}

function exited(child: ChildProcess, deadlineMs: number): Promise<number | string | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode ?? child.signalCode);
    const timer = setTimeout(() => resolve(null), deadlineMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? signal);
    });
  });
}

async function runJs(block: CodeBlock): Promise<void> {
  const dir = sandbox();
  fs.writeFileSync(path.join(dir, 'block.mjs'), block.code);
  const child = spawn(process.execPath, ['block.mjs'], { cwd: dir, env: { ...process.env, PORT: '0', MON_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const deadline = Date.now() + 30_000;
  let address: string | undefined;
  while (!address && child.exitCode === null && Date.now() < deadline) {
    address = /http:\/\/127\.0\.0\.1:\d+\//.exec(output)?.[0];
    if (!address) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (!address) {
    // Not a server: it must finish by itself.
    expect(await exited(child, Math.max(deadline - Date.now(), 1000)), output).toBe(0);
    return;
  }
  let status = 0;
  let body = '';
  while (Date.now() < deadline) {
    const answer = await fetch(address).catch(() => undefined);
    if (answer) {
      status = answer.status;
      body = await answer.text();
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(status, `${address} did not answer 2xx: ${output}`).toBeGreaterThanOrEqual(200);
  expect(status).toBeLessThan(300);
  expect(body.length).toBeGreaterThan(0);
  child.kill('SIGTERM');
  expect(await exited(child, 30_000), `no exit 0 within 30 s of SIGTERM: ${output}`).toBe(0);
}

function runSh(block: CodeBlock): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-ec', block.code], { cwd: root, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr });
    });
  });
}

describe('runnable code blocks', () => {
  it("are found: the README's node:http example and the CLI's help in CONTRIBUTING.md", () => {
    expect(runnable.map((block) => `${block.file} ${block.info}`)).toEqual(expect.arrayContaining(['README.md js runnable', 'CONTRIBUTING.md sh runnable']));
    for (const block of runnable) expect(['js runnable', 'sh runnable'], `${block.file}:${block.line}`).toContain(block.info);
  });

  it.each(runnable.map((block) => [`${block.file}:${block.line} (${block.info})`, block] as const))(
    '%s runs',
    async (_name, block) => {
      if (block.info.startsWith('js')) return runJs(block);
      const { code, output } = await runSh(block);
      expect(code, output).toBe(0);
      expect(output.trim().length).toBeGreaterThan(0);
    },
    90_000,
  );
});
