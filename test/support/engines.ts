import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import knexFactory, { type Knex } from 'knex';
import { openDatabase, type Database, type Engine } from '../../module/adapters/database.js';

/**
 * Every store test runs on SQLite and on MariaDB/MySQL, each run in a database of its own that it
 * creates and drops. MySQL comes from OVERUSAGE_TEST_MYSQL_URL (default root on 127.0.0.1); when
 * OVERUSAGE_TEST_REQUIRE_MYSQL=1 (CI), an unreachable server fails the suite instead of skipping it.
 */
export const MYSQL_URL = process.env.OVERUSAGE_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/';
export const REQUIRE_MYSQL = process.env.OVERUSAGE_TEST_REQUIRE_MYSQL === '1';

/**
 * The nodes of a Galera cluster (OVERUSAGE_TEST_GALERA_NODES, `host:port` comma-separated; set by
 * tools/galera/check.sh), so that suites with several writers can send each to another node, as
 * when collectors on several hosts each talk to their nearest node. Empty: one server.
 */
export const GALERA_NODES = (process.env.OVERUSAGE_TEST_GALERA_NODES ?? '').split(',').filter(Boolean);

/** The same database on the k-th node of the cluster (round robin); the URL itself without one. */
export function onNode(url: string, k: number): string {
  if (GALERA_NODES.length === 0 || !url.startsWith('mysql:')) return url;
  const u = new URL(url);
  u.host = GALERA_NODES[k % GALERA_NODES.length]!;
  return u.toString();
}

/**
 * On a Galera cluster, waits until node k has applied every write committed anywhere before the
 * call: one causal read there (wsrep_sync_wait=1). What a test just wrote on node 1 is then what a
 * reader on node k sees, as once a panel's node has caught up. Nothing to wait for on one server.
 */
export async function caughtUp(url: string, k: number): Promise<void> {
  if (GALERA_NODES.length === 0 || !url.startsWith('mysql:')) return;
  const node = knexFactory({ ...openConfig(onNode(url, k)), pool: { min: 1, max: 1 } });
  try {
    await node.raw('SET SESSION wsrep_sync_wait = 1');
    await node.raw('SELECT 1');
  } finally {
    await node.destroy();
  }
}

let mysqlReachable: Promise<string | null> | null = null;

/** null when reachable, else the reason */
export function checkMysql(): Promise<string | null> {
  mysqlReachable ??= (async () => {
    // knex would also print the refused connection as a warning: the one line below says it all
    const admin = knexFactory({ ...openConfig(MYSQL_URL), pool: { min: 0, max: 1 }, log: { warn() {} } });
    try {
      await admin.raw('select 1');
      return null;
    } catch (err) {
      const reason = (err as Error).message;
      if (!REQUIRE_MYSQL)
        console.warn(
          `[tests] MariaDB/MySQL unreachable at ${MYSQL_URL} (${reason}): every MariaDB suite is skipped; CI (OVERUSAGE_TEST_REQUIRE_MYSQL=1) requires them.`,
        );
      return reason;
    } finally {
      await admin.destroy();
    }
  })();
  return mysqlReachable;
}

/** A one-connection knex on the test server itself (no database chosen): the caller destroys it. */
export function mysqlAdmin(): Knex {
  return knexFactory({ ...openConfig(MYSQL_URL), pool: { min: 0, max: 1 } });
}

function openConfig(url: string): Knex.Config {
  const u = new URL(url);
  return {
    client: 'mysql2',
    connection: {
      host: u.hostname,
      port: u.port ? Number(u.port) : 3306,
      user: decodeURIComponent(u.username || 'root'),
      password: decodeURIComponent(u.password || ''),
      ...(u.searchParams.get('socketPath') ? { socketPath: u.searchParams.get('socketPath')! } : {}),
    },
  };
}

export interface TestDatabase extends Database {
  url: string;
  drop(): Promise<void>;
}

let counter = 0;

export async function createTestDatabase(engine: Engine): Promise<TestDatabase> {
  const tag = `${process.pid}_${++counter}_${crypto.randomBytes(3).toString('hex')}`;
  if (engine === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-test-'));
    const url = `sqlite:${path.join(dir, 'test.sqlite')}`;
    const db = openDatabase(url);
    return {
      ...db,
      url,
      drop: async () => {
        await db.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const name = `overusage_t_${tag}`;
  const admin = knexFactory({ ...openConfig(MYSQL_URL), pool: { min: 0, max: 1 } });
  await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.destroy();
  const base = new URL(MYSQL_URL);
  base.pathname = `/${name}`;
  const url = base.toString();
  const db = openDatabase(url);
  return {
    ...db,
    url,
    drop: async () => {
      await db.close();
      const a = knexFactory({ ...openConfig(MYSQL_URL), pool: { min: 0, max: 1 } });
      await a.raw(`DROP DATABASE IF EXISTS \`${name}\``);
      await a.destroy();
    },
  };
}

export const ENGINES: Engine[] = ['sqlite', 'mysql'];

/**
 * Declares `describe` blocks once per engine. `body` receives a getter for the engine's fresh
 * database (created in `before`, dropped in `after`).
 */
export function describeEachEngine(
  title: string,
  body: (ctx: { db: () => TestDatabase; engine: Engine }) => void,
): void {
  for (const engine of ENGINES) {
    describe(`${title} [${engine}]`, function () {
      let current: TestDatabase | null = null;
      before(async function () {
        if (engine === 'mysql') {
          const reason = await checkMysql();
          if (reason) {
            if (REQUIRE_MYSQL)
              throw new Error(`MariaDB/MySQL is required but unreachable at ${MYSQL_URL}: ${reason}`);
            this.skip();
          }
        }
        current = await createTestDatabase(engine);
      });
      after(async () => {
        await current?.drop();
        current = null;
      });
      body({
        db: () => {
          if (!current) throw new Error('test database not ready');
          return current;
        },
        engine,
      });
    });
  }
}
