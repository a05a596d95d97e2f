import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { openDatabase } from '../module/adapters/database.js';
import { overusage } from './support/cli-process.js';

/**
 * --json as a script reads it (issue 12): in a process of its own, stdout is exactly one JSON
 * document, also when the command fails on a warning knex would print itself (a migration lock
 * left behind); the human words and knex's own lines go to stderr, and knex's advice to run its
 * CLI ("knex migrate:unlock", which an operator of this module does not have) is not given.
 * Exit 4 for a conflict, as the README gives it.
 */
describe('--json keeps stdout to one JSON document', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-json-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const LOCKED =
    'the migrations are locked (mod_overusage_migrations_lock): another "overusage migrate" or upgrade is running now, or one was stopped half-way and left its lock; if none is running, free it with "overusage migrate --unlock" and run migrate again';

  it('when the migrations are locked: migrate and collect print one error document and exit 4', async function () {
    this.timeout(120_000);
    const url = `sqlite:${path.join(dir, 'ou.sqlite')}`;
    const env = { OVERUSAGE_DATA_DIR: dir, OVERUSAGE_LOG_LEVEL: 'debug' };
    const first = overusage(['--db', url, '--json', 'migrate'], env);
    expect((await first.exited).code, first.stderr()).to.equal(0);
    expect(JSON.parse(first.stdout()).applied.length).to.be.greaterThan(0);
    // a migration killed half-way leaves knex's lock row set
    const db = openDatabase(url);
    await db.knex('mod_overusage_migrations_lock').update({ is_locked: 1 });
    await db.close();
    // every command migrates first: migrate itself, and collect
    for (const args of [['migrate'], ['collect']]) {
      const p = overusage(['--db', url, '--json', ...args], env);
      const done = await p.exited;
      expect(done.code, `${args[0]}: ${p.stderr()}`).to.equal(4);
      expect(JSON.parse(p.stdout()), args[0]).to.deep.equal({ error: { code: 'LOCKED', message: LOCKED } });
      expect(p.stderr()).to.not.include('knex migrate:unlock');
      expect(p.stderr()).to.not.match(/^\s+at /m);
    }
  });
});
