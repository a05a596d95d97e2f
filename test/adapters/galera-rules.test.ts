import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { createSolusVmGateway } from '../../module/adapters/solusvm-gateway.js';
import { describeEachEngine } from '../support/engines.js';
import { buildModule, type ModuleFixture } from '../support/module-fixture.js';

/**
 * What a MariaDB Galera cluster asks of the add-on's schema and SQL (issue 22; MariaDB's "Galera
 * Cluster known limitations"): every table has a primary key (rows without one cannot be
 * certified and may differ between nodes), and nothing relies on LOCK TABLES or GET_LOCK (neither
 * is replicated: a lock taken on one node does not stop a writer on another). The leases are rows
 * of mod_overusage_locks for that reason.
 */
describeEachEngine('the schema and SQL a Galera cluster accepts', ({ db, engine }) => {
  let fx: ModuleFixture;
  afterEach(async () => {
    await fx?.mod.close();
    await fx?.mod.migrateDown();
    await db().knex.schema.dropTableIfExists('mod_overusage_migrations_lock');
  });

  it('gives every table of the add-on a primary key after the migrations', async () => {
    const knex = db().knex;
    fx = await buildModule(knex, {
      start: '2026-12-05T12:00:00Z',
      gatewayFor: (s) => createSolusVmGateway(s),
    });
    let tables: string[];
    let withKey: string[];
    if (engine === 'mysql') {
      tables = (
        await knex('information_schema.tables')
          .where({ table_schema: knex.raw('database()') })
          .select('table_name as t')
      ).map((r) => String(r.t));
      withKey = (
        await knex('information_schema.table_constraints')
          .where({ table_schema: knex.raw('database()'), constraint_type: 'PRIMARY KEY' })
          .select('table_name as t')
      ).map((r) => String(r.t));
    } else {
      tables = (
        await knex('sqlite_master')
          .where({ type: 'table' })
          .whereNot('name', 'like', 'sqlite_%')
          .select('name')
      ).map((r) => String(r.name));
      withKey = [];
      for (const t of tables)
        if ((await knex.raw(`pragma table_info(\`${t}\`)`)).some((c: { pk: number }) => c.pk > 0))
          withKey.push(t);
    }
    // the add-on's 30-odd tables and knex's two migration tables
    expect(tables.length).to.be.greaterThan(30);
    expect(tables.filter((t) => !withKey.includes(t)).sort()).to.deep.equal([]);
  });

  it('uses no LOCK TABLES, GET_LOCK or named locks anywhere in its code', () => {
    const root = path.resolve(import.meta.dirname, '..', '..');
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (
          /\.(ts|php)$/.test(e.name) &&
          /\b(LOCK\s+TABLES|GET_LOCK\s*\(|RELEASE_LOCK\s*\(|lockTables)\b/i.test(fs.readFileSync(p, 'utf8'))
        )
          offenders.push(path.relative(root, p));
      }
    };
    for (const d of ['module', 'migrations', 'cli', 'hooks', 'modules'])
      if (fs.existsSync(path.join(root, d))) walk(path.join(root, d));
    expect(offenders).to.deep.equal([]);
  });
});
