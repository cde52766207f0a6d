// One cluster2 instance (a fixture master and its workers) behind HAProxy, run through the shared
// fixture harness.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Fixture, request, type Answer } from '../support/fixture.js';

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'app.mjs');

export class Instance extends Fixture {
  port = 0;

  /** INSTANCE=`name` names it in every app answer; `options` are added to its Cluster's. */
  constructor(
    readonly name: string,
    options: object = {},
  ) {
    super(fixture, options, { env: { INSTANCE: name } });
  }

  /** Resolves with the app port once every worker listens. */
  async ready(): Promise<number> {
    this.port = (await this.readyReport()).ports![0]!;
    return this.port;
  }

  /** A request straight to this instance (not through HAProxy), on a fresh connection. */
  request(pathname: string, method = 'GET'): Promise<Answer> {
    return request(this.port, pathname, { method });
  }
}
