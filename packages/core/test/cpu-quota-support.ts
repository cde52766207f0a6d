// Runs fixtures/cpu-quota-app.mjs in a child process and reads the one line it reports.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fixturesDir } from './helpers.js';

export interface QuotaReport {
  noWorkers: number;
  availableParallelism: number;
  cgroup: string[];
}

/**
 * Starts the fixture through `sh` so a test can put the process into a cgroup before Node starts
 * (`prelude` runs in the shell, whose pid `exec` hands to node). Kills it by pid if it outlives `timeout`.
 */
export function reportQuota(env: Record<string, string> = {}, prelude = '', timeout = 15_000): Promise<QuotaReport> {
  const script = `${prelude}\nexec "$0" "$1"`;
  const child = spawn('sh', ['-c', script, process.execPath, path.join(fixturesDir, 'cpu-quota-app.mjs')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`cpu-quota-app exited with ${code ?? signal}: ${stderr}`));
      else resolve(JSON.parse(stdout.trim()) as QuotaReport);
    });
  });
}
