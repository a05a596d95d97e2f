import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { run } from '../cli/main.js';
import { describeEachEngine } from './support/engines.js';

/**
 * A migration stopped half-way (killed, the server gone) leaves knex's lock row set, and every
 * later migrate used to fail with "Migration table is already locked", for good. Now it says both
 * possible truths and the way out, and `migrate --unlock` frees it (audited). Exit codes as the
 * README gives them: 4 for a conflict, 0 done.
 */
describeEachEngine('a migration lock left behind', ({ db }) => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-migrate-lock-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const cli = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await run(['--db', db().url, ...args], {
      out: (s) => out.push(s),
      err: (s) => err.push(s),
      isTTY: false,
      env: { OVERUSAGE_DATA_DIR: dir, OVERUSAGE_LOG_LEVEL: 'error' },
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  it('says the lock may be left by a stopped migration, frees it on request, and migrates again', async () => {
    expect((await cli('migrate')).code).to.equal(0);
    const knex = db().knex;
    await knex('mod_overusage_migrations_lock').update({ is_locked: 1 });

    const locked = await cli('migrate');
    expect(locked.code).to.equal(4);
    expect(locked.err).to.equal(
      'overusage: the migrations are locked (mod_overusage_migrations_lock): another "overusage migrate" or upgrade is running now, or one was stopped half-way and left its lock; if none is running, free it with "overusage migrate --unlock" and run migrate again',
    );

    const freed = await cli('--json', 'migrate', '--unlock');
    expect(freed.code).to.equal(0);
    expect(JSON.parse(freed.out)).to.deep.equal({ freed: true });
    expect(
      (await knex('mod_overusage_audit').where({ action: 'migrations.unlocked' }).select('actor_type')).map(
        (r) => r.actor_type,
      ),
    ).to.deep.equal(['cli']);

    expect(await cli('migrate')).to.deep.include({ code: 0, out: 'already up to date' });
    expect(await cli('migrate', '--unlock')).to.deep.include({
      code: 0,
      out: 'the migrations were not locked; nothing changed',
    });
  });
});
