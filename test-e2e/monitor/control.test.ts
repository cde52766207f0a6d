// The monitor's control routes and logs viewer against a live cluster with monToken set: the
// token rules (401/403/204, on every route), effects that the app itself confirms (ECV answers,
// replaced pids), and path traversal on the logs viewer.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fixture, isAlive, listeningPids, request, tempDir, until, type Answer, type Endpoints } from './helpers.js';

const TOKEN = 'e2e-monitor-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const SECRET = 'this-line-lives-outside-the-logs-dir';
const LOG_LINE = 'worker started and served its first request';

let fixture: Fixture;
let root: string;
let endpoints: Endpoints;

beforeAll(async () => {
  // root/logs is the viewer's directory; root/secret.txt is what a traversal would reach.
  root = tempDir('control');
  fs.mkdirSync(path.join(root, 'logs'));
  fs.writeFileSync(path.join(root, 'logs', 'app.log'), `boot\n${LOG_LINE}\n`);
  fs.writeFileSync(path.join(root, 'secret.txt'), `${SECRET}\n`);
  fixture = new Fixture({
    noWorkers: 2,
    heartbeatInterval: 200,
    monToken: TOKEN,
    ecv: { control: true },
    pids: path.join(root, 'pids'),
    logs: path.join(root, 'logs'),
  });
  endpoints = await fixture.ready();
});
afterAll(() => {
  fixture?.kill();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

const post = (target: string, headers: Record<string, string> = {}): Promise<Answer> => request(endpoints.monPort, target, { method: 'POST', headers });

/** GET /ecv enough times to reach both workers (round-robin); every answer must agree. */
async function ecvAnswers(): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let i = 0; i < 4; i++) answers.push(await request(endpoints.port, '/ecv'));
  return answers;
}

describe('monitor control routes with monToken', () => {
  it('refuses ECV control without a token (401) and with a wrong one (403), and obeys the right one', async () => {
    const missing = await post('/api/ecv/disable');
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(JSON.parse(missing.body).error.code).toBe('UNAUTHORIZED');

    const wrong = await post('/api/ecv/disable', { authorization: 'Bearer not-the-token' });
    expect(wrong.status).toBe(403);
    expect(JSON.parse(wrong.body).error.code).toBe('FORBIDDEN');

    // Neither refusal changed anything.
    for (const answer of await ecvAnswers()) {
      expect(answer.status).toBe(200);
      expect(answer.body).toMatch(/^status=AVAILABLE&ServeTraffic=true&/);
    }

    const disabled = await post('/api/ecv/disable', AUTH);
    expect(disabled.status).toBe(204);
    expect(disabled.body).toBe('');
    // 204 means applied on every worker already: no polling needed.
    for (const answer of await ecvAnswers()) {
      expect(answer.status).toBe(400);
      expect(answer.body).toMatch(/^status=DISABLED&ServeTraffic=false&/);
    }
    const status = JSON.parse((await request(endpoints.monPort, '/api/status', { headers: AUTH })).body) as { ecv: { state: string } };
    expect(status.ecv.state).toBe('disabled');
    await fixture.waitFor('disabled');

    expect((await post('/api/ecv/enable', { authorization: 'Bearer not-the-token' })).status).toBe(403);
    expect((await post('/api/ecv/enable', AUTH)).status).toBe(204);
    for (const answer of await ecvAnswers()) {
      expect(answer.status).toBe(200);
      expect(answer.body).toMatch(/^status=AVAILABLE&ServeTraffic=true&/);
    }
  });

  it('restarts one worker by pid (202, that pid replaced) and answers 404 for an unknown pid', async () => {
    const before = await listeningPids(endpoints.monPort, TOKEN);
    expect(before).toHaveLength(2);
    const [target, other] = before as [number, number];

    expect((await post(`/api/workers/${target}/restart`)).status).toBe(401);
    expect((await post(`/api/workers/${target}/restart`, { authorization: 'Bearer nope' })).status).toBe(403);

    const accepted = await post(`/api/workers/${target}/restart`, AUTH);
    expect(accepted.status).toBe(202);
    await until(
      async () => {
        const now = await listeningPids(endpoints.monPort, TOKEN);
        return now.length === 2 && !now.includes(target) && now.includes(other);
      },
      20_000,
      `worker ${target} to be replaced`,
    );
    await until(() => !isAlive(target), 10_000, `worker ${target} to exit`);
    const recycled = await fixture.waitFor('recycled', { where: (m) => m.args![0] === target });
    expect(recycled.args![1]).toBe('manual');

    for (const unknown of [String(fixture.pid), String(target), '999999999']) {
      const answer = await post(`/api/workers/${unknown}/restart`, AUTH);
      expect(answer.status, `pid ${unknown}`).toBe(404);
      expect(JSON.parse(answer.body).error.code).toBe('NOT_FOUND');
    }
    expect((await post('/api/workers/not-a-pid/restart', AUTH)).status).toBe(404);
    // Nothing else was restarted by the refused calls.
    expect((await listeningPids(endpoints.monPort, TOKEN)).includes(other)).toBe(true);
  });

  it("answers every read route 401 without the token (a log file's contents were served to anyone) and serves them with it", async () => {
    for (const target of ['/', '/api/status', '/api/events', '/metrics', '/api/deps', '/api/logs', '/api/logs/app.log']) {
      const missing = await request(endpoints.monPort, target);
      expect({ target, status: missing.status, challenge: missing.headers['www-authenticate'] }).toEqual({
        target,
        status: 401,
        challenge: 'Bearer realm="cluster2"',
      });
      expect(missing.body).not.toContain(LOG_LINE);
      expect(missing.body).not.toContain('cluster2_');
      const wrong = await request(endpoints.monPort, target, { headers: { authorization: 'Bearer nope' } });
      expect({ target, status: wrong.status }).toEqual({ target, status: 403 });
    }
    for (const target of ['/', '/api/status', '/metrics', '/api/deps', '/api/logs']) {
      expect({ target, status: (await request(endpoints.monPort, target, { headers: AUTH })).status }).toEqual({ target, status: 200 });
    }
    expect((await request(endpoints.monPort, `/?token=${TOKEN}`)).status).toBe(200);
    expect((await request(endpoints.monPort, `/api/status?token=${TOKEN}`)).status).toBe(401);
  });

  it('serves a real log file but answers 404 to every path traversal', async () => {
    const list = await request(endpoints.monPort, '/api/logs', { headers: AUTH });
    expect(list.status).toBe(200);
    // The logs directory is also where the master writes the captured lines (out.log, err.log).
    expect((JSON.parse(list.body) as { files: Array<{ name: string }> }).files.map((f) => f.name)).toEqual(['app.log', 'err.log', 'out.log']);

    const log = await request(endpoints.monPort, '/api/logs/app.log', { headers: AUTH });
    expect(log.status).toBe(200);
    expect(log.body).toContain(LOG_LINE);
    const tail = await request(endpoints.monPort, '/api/logs/app.log?lines=1', { headers: AUTH });
    expect(tail.body).toBe(`${LOG_LINE}\n`);

    const attacks = [
      '/api/logs/..%2f..%2fetc%2fpasswd',
      '/api/logs/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd',
      '/api/logs/%2e%2e%2fsecret.txt',
      '/api/logs/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '/api/logs/..%2fsecret.txt',
      '/api/logs/..%5csecret.txt',
      '/api/logs/%2fetc%2fpasswd',
      `/api/logs/${encodeURIComponent(path.join(root, 'secret.txt'))}`,
      '/api/logs/../secret.txt',
      '/api/logs/..',
      '/api/logs/%2e%2e',
      '/api/logs/app.log%00.txt',
    ];
    for (const target of attacks) {
      const answer = await request(endpoints.monPort, target, { headers: AUTH });
      expect(answer.status, target).toBe(404);
      expect(answer.body, target).not.toContain(SECRET);
      expect(answer.body, target).not.toContain('root:');
    }
  });
});
