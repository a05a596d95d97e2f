import { expect } from 'chai';
import type { Knex } from 'knex';
import { createLogger } from '../../module/adapters/logger.js';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, closeMay, disputeLine } from '../support/billing-story.js';

/**
 * One row of the outbox that cannot be read (its next attempt edited by hand into something that
 * is no instant) must not stop the emails behind it: Ann's dispute of 5 June queues her email and
 * the admin's; the first row is spoiled, the second still goes, and the spoiled one is named in
 * the log with the column that is wrong, every time it is met, never with what it holds.
 */
describeEachEngine('an outbox row that cannot be read', ({ db, engine }) => {
  it('is logged and left out; the emails behind it are sent', async () => {
    const knex: Knex = db().knex;
    const logged: Array<Record<string, unknown>> = [];
    const log = createLogger({ write: (line) => logged.push(JSON.parse(line)) });
    const s = await buildBillingStory(knex, undefined, { log });
    await closeMay(s);
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    const line = await knex('mod_overusage_lines').where({ service_id: s.story.serviceId }).first();
    // the panel's mail is down when Ann disputes: both emails wait in the outbox
    const { sendEmail, sendAdminEmail } = s.faulty.real;
    s.faulty.real.sendEmail = s.faulty.real.sendAdminEmail = async () => {
      throw new Error('injected: mail down');
    };
    await disputeLine(s, Number(line.id));
    Object.assign(s.faulty.real, { sendEmail, sendAdminEmail });
    s.f.clock.set('2013-06-06T10:00:00Z'); // a day on: every back-off is over
    const queued = await knex('mod_overusage_outbox').orderBy('id').select('id', 'message_key');
    expect(queued.length).to.be.greaterThan(1);
    const [spoiled = 0, ...rest] = queued.map((r) => Number(r.id));
    // a value the due query still finds (it sorts before now) but that is no instant
    const bad = engine === 'sqlite' ? '2013-06-01 99:99:99' : '0000-00-00 00:00:00.000';
    if (engine === 'sqlite')
      await knex('mod_overusage_outbox').where({ id: spoiled }).update({ next_attempt_at: bad });
    else
      await knex.transaction(async (trx) => {
        const [[{ mode }]] = await trx.raw('SELECT @@SESSION.sql_mode AS mode');
        await trx.raw("SET SESSION sql_mode = ''");
        await trx.raw(
          "UPDATE mod_overusage_outbox SET next_attempt_at = '0000-00-00 00:00:00' WHERE id = ?",
          [spoiled],
        );
        await trx.raw('SET SESSION sql_mode = ?', [mode]);
      });
    const drained = await s.mod.outbox!.drain();
    expect(drained).to.deep.include({ sent: rest.length, failed: 0, locked: false });
    const statusOf = async () =>
      (await knex('mod_overusage_outbox').orderBy('id').select('id', 'status')).map((r) => [
        Number(r.id),
        String(r.status),
      ]);
    expect(await statusOf()).to.deep.equal([[spoiled, 'failed'], ...rest.map((id) => [id, 'sent'])]);
    // named with the column that is wrong each time the due rows are read (twice in this drain:
    // the second read finds nothing more to send)
    const named = () =>
      logged
        .filter((l) => l.event === 'outbox.row_unreadable')
        .map((l) => [l.level, l.table, l.id, l.column, l.reason].join(' | '));
    const entry = `warn | mod_overusage_outbox | ${spoiled} | mod_overusage_outbox.next_attempt_at | not a datetime`;
    expect(named()).to.deep.equal([entry, entry]);
    // the admin's list of waiting emails lists nothing it cannot read, and names the row again
    expect(await s.mod.outbox!.waiting()).to.deep.equal([]);
    expect(named()).to.deep.equal([entry, entry, entry]);
    // the stored value is never logged (a column may hold an email's text)
    expect(JSON.stringify(logged)).not.to.include(bad.slice(0, 19));
  });
});
