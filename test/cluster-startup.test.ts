import pg from 'pg';
import { MIGRATION_NAMES } from '../src/infrastructure/db/migrate.js';
import { afterAll, describe, expect, it } from 'vitest';
import { Cluster, postgresUrl } from './helpers/cluster.js';
import { allRooms } from './helpers/pages.js';
import { dialect, redisUrl } from './helpers/server.js';

describe.skipIf(!redisUrl || dialect !== 'postgres')('scale out: two instances starting together on a fresh database', () => {
  const cluster = new Cluster();
  afterAll(() => cluster.stop());

  it('both become ready, the schema is migrated once, and both see the same single lobby', { timeout: 60_000 }, async () => {
    const database = await cluster.database();
    // Spawned back to back, before either is ready: both race to migrate the empty database.
    const [a, b] = await Promise.all([
      cluster.startInstance({ database, redisUrl: redisUrl!, name: 'A' }),
      cluster.startInstance({ database, redisUrl: redisUrl!, name: 'B' }),
    ]);
    await Promise.all([a.waitForHealth(200, 30_000), b.waitForHealth(200, 30_000)]);

    const [roomsOnA, roomsOnB] = await Promise.all([allRooms(a.url), allRooms(b.url)]);
    const lobbiesOnA = roomsOnA.filter((room) => room.title === 'lobby');
    expect(lobbiesOnA).toHaveLength(1);
    expect(roomsOnB).toEqual(roomsOnA);

    const client = new pg.Client({ connectionString: postgresUrl(database) });
    await client.connect();
    try {
      // Each migration applied once, by one of them.
      const migrations = await client.query<{ name: string }>('select name from kysely_migration order by name');
      expect(migrations.rows.map((row) => row.name)).toEqual(MIGRATION_NAMES);
      const lobbies = await client.query<{ id: string }>("select id from rooms where title = 'lobby'");
      expect(lobbies.rows).toEqual([{ id: lobbiesOnA[0]!.id }]);
    } finally {
      await client.end();
    }
    // Neither lost the race loudly.
    for (const instance of [a, b]) expect(instance.stdout.filter((line) => /"level":(50|60)/.test(line)), instance.name).toEqual([]);
  });
});
