import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { configProblemsOf } from '../helpers/config.js';


const POSTGRES = 'postgres://chat@db.internal:5432/chat';

describe('DATABASE_POOL_SIZE', () => {
  it('sizes the PostgreSQL pool, 10 when unset', () => {
    expect(loadConfig({ DATABASE_URL: POSTGRES }).database).toEqual({ dialect: 'postgres', url: POSTGRES, poolSize: 10 });
    expect(loadConfig({ DATABASE_URL: POSTGRES, DATABASE_POOL_SIZE: '40' }).database).toEqual({ dialect: 'postgres', url: POSTGRES, poolSize: 40 });
  });

  it('refuses a size out of range, and a size for SQLite (one connection, no pool)', () => {
    for (const size of ['0', '-3', '1001', 'ten']) {
      expect(configProblemsOf({ DATABASE_URL: POSTGRES, DATABASE_POOL_SIZE: size })).toContainEqual(expect.stringContaining(`DATABASE_POOL_SIZE must be an integer from 1 to 1000, got "${size}"`));
    }
    expect(configProblemsOf({ DATABASE_POOL_SIZE: '5' })).toContainEqual(expect.stringMatching(/DATABASE_POOL_SIZE is for PostgreSQL/));
  });
});
