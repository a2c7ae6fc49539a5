import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Where the bench creates (and drops) its PostgreSQL databases. */
export function postgresAdminUrl(): string {
  const fromEnv = process.env.BENCH_POSTGRES_URL ?? process.env.DATABASE_URL;
  return fromEnv && /^postgres(ql)?:\/\//.test(fromEnv) ? fromEnv : 'postgres://postgres@127.0.0.1:5432/postgres';
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Why PostgreSQL cannot be used, or null when it can. */
export async function postgresProblem(adminUrl: string): Promise<string | null> {
  try {
    await withClient(adminUrl, (client) => client.query('select 1'));
    return null;
  } catch (error) {
    return `PostgreSQL at ${new URL(adminUrl).host} unreachable (${error instanceof Error ? error.message : String(error)})`;
  }
}

export interface FreshDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A new empty database; drop() removes it even with connections still open. */
export async function createFreshDatabase(adminUrl: string): Promise<FreshDatabase> {
  const name = `chat_bench_${randomBytes(6).toString('hex')}`;
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    drop: async () => {
      if (dropped) return;
      dropped = true;
      await withClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
