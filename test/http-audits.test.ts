import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startServer, type TestServer } from './helpers/server.js';

/**
 * The GraphQL over HTTP spec, as graphql-http's server audits check it, against the real server:
 * one test per audit (MUST, SHOULD and MAY alike), each failing with the audit's own reason.
 */
describe('GraphQL over HTTP (graphql-http server audits)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server?.stop());

  // The audits are listed now, while vitest collects the tests; each asks for the URL when it runs.
  for (const audit of serverAudits({ url: () => server.url, fetchFn: fetch })) {
    it(`${audit.id}: ${audit.name}`, async () => {
      const result = await audit.fn();
      if (result.status !== 'ok') {
        throw new Error(`audit ${audit.id} (${audit.name}) is "${result.status}": ${result.reason} (HTTP ${result.response.status})`);
      }
    });
  }
});
