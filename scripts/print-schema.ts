// Prints the schema built from the code to schema.graphql (or checks it with --check).
import { readFileSync, writeFileSync } from 'node:fs';
import { printSchema } from 'graphql';
import { buildSchema } from '../src/schema/index.js';

const file = new URL('../schema.graphql', import.meta.url);
const sdl = `${printSchema(buildSchema())}\n`;
if (process.argv.includes('--check')) {
  if (readFileSync(file, 'utf8') !== sdl) {
    console.error('schema.graphql is stale: run npm run schema:print');
    process.exit(1);
  }
  console.log('schema.graphql is up to date');
} else {
  writeFileSync(file, sdl);
  console.log('wrote schema.graphql');
}
