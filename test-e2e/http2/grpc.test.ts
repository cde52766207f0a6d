// gRPC (@grpc/grpc-js, client and server) through rolling reloads. The app is an unmodified
// grpc-js server run by cluster.run() (what `cluster2 start` does): each worker adopts the http2
// server grpc-js creates in bindAsync(), so a drain tells its sessions to go away (GOAWAY), the
// app ends its server streams in onDraining(), and the clients move to a new worker.
//
// Two groups of clients run side by side through the same reloads: one with grpc-js's default
// channel options, one with retries off ('grpc.enable_retries': 0). A GOAWAY that reaches a
// node:http2 client in the same read as a response makes its HTTP/2 layer (nghttp2) refuse the
// requests the app submitted from that response's callbacks and had not sent yet: REFUSED_STREAM,
// which grpc-js retries transparently by default and reports as UNAVAILABLE "Stream refused by
// server" with retries off. The server logs the id of every call its app received, so the test
// tells those calls apart by proof: none of them reached the app.
import fs from 'node:fs';
import path from 'node:path';
import grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { h2Get } from './h2-client.js';
import { GrpcLoad } from './grpc-load.js';
import { Fixture, killAll, tempDir, until } from './harness.js';

const RELOADS = 5;
const CLIENTS = 16;
const fixtures: Fixture[] = [];
afterEach(() => killAll(fixtures.splice(0)));

/** Ids of every Whoami call the app received, from the workers' logs in `dir`. */
function receivedCallIds(dir: string): Set<string> {
  return new Set(fs.readdirSync(dir).flatMap((file) => fs.readFileSync(path.join(dir, file), 'utf8').split('\n').filter(Boolean)));
}

function expectStreamsEndedByTheDrain(load: GrpcLoad): void {
  expect(load.unexpectedStreamEnds()).toEqual([]);
  // Every client had its stream open on a draining worker at least once.
  expect(load.drainedStreams().length).toBeGreaterThanOrEqual(CLIENTS);
  expect(load.streamEnds.filter((end) => end.code === grpc.status.CANCELLED).length).toBeLessThanOrEqual(CLIENTS);
}

describe('gRPC through rolling reloads (grpc-js server adopted by cluster.run(), grpc-js clients)', () => {
  it(`answers /ecv over HTTP/2 on the gRPC port; ${CLIENTS} + ${CLIENTS} clients, unary calls and one server stream each, through ${RELOADS} reloads: 0 failed unary calls with grpc-js's defaults, none the server processed with retries off; streams ended with UNAVAILABLE "server draining"; clients on new workers`, async () => {
    const callLog = tempDir('grpc-calls');
    const f = new Fixture({ noWorkers: 2 }, { FIXTURE_CALL_LOG: callLog, FIXTURE_RUN: JSON.stringify({ ecv: true }) }, 'grpc-app.mjs');
    fixtures.push(f);
    const port = await f.ready();
    // ECV on the gRPC port, over HTTP/2: answered by cluster2 before grpc-js sees the stream.
    const ecv = await h2Get(port, '/ecv');
    expect(ecv.status).toBe(200);
    expect(ecv.body).toMatch(/^status=AVAILABLE/);
    const firstPids = f.workerPids();
    const defaults = new GrpcLoad('defaults', { port, clients: CLIENTS }).start();
    const noRetries = new GrpcLoad('no-retries', { port, clients: CLIENTS, retries: false }).start();
    const total = () => defaults.unaryTotal + noRetries.unaryTotal;
    const startedAt = Date.now();

    for (let round = 0; round < RELOADS; round++) {
      const before = total();
      await until(() => total() >= before + 300, 20_000, 'unary calls answered between reloads');
      await f.reload();
    }
    // Every drained worker has exited: from now on only the last two workers serve.
    await until(() => f.workerPids().length === 2, 20_000, 'the last drained worker to exit');
    const settledAt = Date.now();
    const lastPids = f.workerPids();
    const after = total();
    await until(() => total() >= after + 300, 20_000, 'unary calls answered after the last reload');
    const seconds = (Date.now() - startedAt) / 1000;
    await Promise.all([defaults.stop(), noRetries.stop()]);

    expect(defaults.unaryFailures).toEqual([]);
    expect(defaults.unaryFailed).toBe(0);
    expect(noRetries.processedFailures()).toEqual([]);
    // The refused calls never reached the app; every answered call did (the log is complete).
    const received = receivedCallIds(callLog);
    expect(noRetries.unaryFailures.filter((failure) => received.has(failure.id))).toEqual([]);
    expect([...defaults.replies, ...noRetries.replies].filter((reply) => !received.has(reply.id))).toEqual([]);
    fs.rmSync(callLog, { recursive: true, force: true });
    for (const load of [defaults, noRetries]) {
      expect(load.replies.length).toBeGreaterThan((RELOADS + 1) * 100);
      expectStreamsEndedByTheDrain(load);
      // Calls started once the last old worker had exited reached only the last workers.
      const latePids = [...load.pidsSince(settledAt)];
      expect(latePids.length).toBeGreaterThan(0);
      for (const pid of latePids) expect(lastPids).toContain(pid);
      // Every generation of workers answered.
      expect(load.pidsSince(0).size).toBeGreaterThanOrEqual(2 * (RELOADS + 1));
    }
    for (const pid of firstPids) expect(lastPids).not.toContain(pid);
    // Every drained worker finished its drain in time (no warning) and exited 0.
    expect(f.events('warning').map((m) => m.args)).toEqual([]);
    expect(f.events('died').map((m) => m.args![1])).toEqual(new Array(2 * RELOADS).fill(0));
    console.log(
      `grpc, ${RELOADS} reloads in ${seconds.toFixed(1)} s: defaults ${defaults.replies.length} unary ok / ${defaults.unaryFailed} failed, ` +
        `${defaults.drainedStreams().length} streams ended "server draining"; retries off ${noRetries.replies.length} ok / ` +
        `${noRetries.unaryFailed} refused (REFUSED_STREAM, none reached the app), ${noRetries.drainedStreams().length} streams ended "server draining"`,
    );
  });
});
