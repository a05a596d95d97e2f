import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { TABLES } from '../../module/adapters/tables.js';

// Every table the migrations create is named once in TABLES, and nothing else is: a table added by
// a migration without its name here (or a name here no migration creates) fails this test.
describe('module tables', () => {
  it('names exactly the tables the migrations create', () => {
    const dir = path.join(import.meta.dirname, '..', '..', 'migrations');
    const created = new Set<string>();
    for (const file of readdirSync(dir)) {
      const text = readFileSync(path.join(dir, file), 'utf8');
      for (const m of text.matchAll(/createTable(?:IfNotExists)?\(\s*'(mod_overusage_[a-z_]+)'/g))
        created.add(m[1]!);
    }
    // knex's own bookkeeping table, named in the migrator's config rather than created by a migration
    created.add('mod_overusage_migrations');
    expect([...created].sort()).to.deep.equal(Object.values(TABLES).sort());
  });
});
