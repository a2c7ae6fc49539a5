import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildSchema } from '../src/schema/index.js';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const committedSchema = fileURLToPath(new URL('../schema.graphql', import.meta.url));
// The shared contract tools sit beside the project in the team's checkout; a plain clone may not have them.
const contractChecker = fileURLToPath(new URL('../../shared/tools/check-contract.mjs', import.meta.url));

describe('the published schema', () => {
  it('is what the code builds, so clients and codegen see the real API', () => {
    const printed = `${printSchema(buildSchema())}\n`;
    expect(readFileSync(committedSchema, 'utf8'), 'schema.graphql is stale: run `npm run schema:print` and commit it').toBe(printed);
  });

  it.skipIf(!existsSync(contractChecker))('keeps every type, field and argument of the public contract', async () => {
    const check = await promisify(execFile)(process.execPath, ['../shared/tools/check-contract.mjs', 'schema.graphql'], { cwd: projectRoot, timeout: 20_000 }).then(
      (output) => ({ code: 0, ...output }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({ code: error.code ?? -1, stdout: error.stdout ?? '', stderr: error.stderr ?? '' }),
    );
    expect(check.code, `check-contract failed:\n${check.stderr}${check.stdout}`).toBe(0);
  });
});
