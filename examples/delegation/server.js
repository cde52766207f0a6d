// Delegation: the master reads one shared config once for every worker, and tells the workers
// when the file changes.
//   node examples/delegation/server.js
//   curl http://127.0.0.1:3000/config        the config as this worker sees it
//   edit examples/delegation/config.json     every worker receives the new one, no restart
import fs from 'node:fs/promises';
import { watch } from 'node:fs';
import http from 'node:http';
import { Cluster } from '@cluster2/core';

const configPath = new URL('./config.json', import.meta.url);
const c = new Cluster({
  port: Number(process.env.PORT ?? 3000),
  noWorkers: 2,
  monitor: false,
  pids: false,
});

const readConfig = async () => JSON.parse(await fs.readFile(configPath, 'utf8'));

if (c.isMaster) {
  // Identical concurrent requests from the workers are coalesced: the file is read once.
  c.handle('config:read', () => readConfig(), { ttl: 1000 });
  let debounce;
  watch(configPath, () => {
    clearTimeout(debounce);
    debounce = setTimeout(async () => {
      try {
        const config = await readConfig();
        const reached = c.notify('config:changed', config);
        console.log(`config changed; told ${reached} workers`);
      } catch (error) {
        console.error(`config.json is not valid JSON, keeping the old one: ${error.message}`);
      }
    }, 50);
  }).unref();
}

let config;
c.subscribe('config:changed', (next) => {
  config = next;
});

const ports = await c.listen(async () => {
  config = await c.delegate('config:read');
  return http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ worker: process.pid, config }));
  });
});

if (c.isMaster) console.log(`delegation demo on http://127.0.0.1:${ports[0]}/config — edit ${configPath.pathname} and ask again`);
