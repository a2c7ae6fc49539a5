import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { configProblemsOf } from '../helpers/config.js';


describe('REDIS_CLUSTER_NODES', () => {
  it('reads comma-separated host:port seed nodes (IPv6 in brackets); unset is null', () => {
    expect(loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-b.internal:7001,[::1]:7002' }).redisClusterNodes).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: 'redis-b.internal', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
    expect(loadConfig({}).redisClusterNodes).toBeNull();
  });

  it('names every bad entry, and refuses REDIS_URL beside it', () => {
    const problems = configProblemsOf({ REDIS_CLUSTER_NODES: '10.0.0.1:7000,redis://10.0.0.2:7000,10.0.0.3,10.0.0.4:99999,', REDIS_URL: 'redis://cache:6379' });
    for (const entry of ['redis://10.0.0.2:7000', '10.0.0.3', '10.0.0.4:99999', '']) expect(problems).toContainEqual(expect.stringContaining(`REDIS_CLUSTER_NODES entry "${entry}"`));
    expect(problems).toContainEqual(expect.stringMatching(/REDIS_URL and REDIS_CLUSTER_NODES are both set/));
  });
});
