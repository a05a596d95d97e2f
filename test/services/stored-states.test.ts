import { expect } from 'chai';
import type { Knex } from 'knex';
import { toNum } from '../../module/adapters/rows.js';
import { ModuleError } from '../../module/domain/errors.js';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, closeMay, type BillingStory } from '../support/billing-story.js';
import { ADMIN_ACTOR as ADMIN, CLIENT_ACTOR as CLIENT } from '../support/module-fixture.js';

/**
 * States read back from the database are checked where they enter the code: a word written by hand
 * (or by a newer version) is reported with its table and column, not cast and acted on. The seed
 * story: a €500.00 overusage line on the renewal invoice of 2 June 2013.
 */
describeEachEngine('states read back from the database', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;
  let lineId: number;

  beforeEach(async () => {
    knex = db().knex;
    s = await buildBillingStory(knex);
    await closeMay(s);
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    lineId = toNum((await knex('mod_overusage_lines').first()).id);
  });

  it('refuses to open a dispute on a line whose status is not a word of the table, and changes nothing', async () => {
    await knex('mod_overusage_lines').where({ id: lineId }).update({ status: 'billed' });
    s.f.clock.set('2013-06-05T10:00:00Z');
    const err = await s.mod
      .disputes!.open({ lineId, reason: 'not mine', actor: CLIENT(s.story.clientId) })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).to.be.instanceOf(ModuleError);
    expect((err as ModuleError).code).to.equal('UNEXPECTED_STATE');
    expect((err as ModuleError).message).to.equal(
      'mod_overusage_lines.status holds "billed", which is not one of pending, placed, held, waived',
    );
    expect(await knex('mod_overusage_disputes').count({ n: '*' }).first()).to.satisfy(
      (r: { n: unknown }) => Number(r.n) === 0,
    );
  });

  it('refuses to resolve a dispute whose hold state was changed by hand, and leaves the money where it was', async () => {
    s.f.clock.set('2013-06-05T10:00:00Z');
    const opened = await s.mod.disputes!.open({
      lineId,
      reason: 'not mine',
      actor: CLIENT(s.story.clientId),
    });
    if (!opened.ok) throw new Error(opened.message);
    await knex('mod_overusage_disputes').where({ id: opened.value.id }).update({ hold_state: 'frozen' });
    const err = await s.mod
      .disputes!.resolve({ disputeId: opened.value.id, to: 'waived', actor: ADMIN, note: 'goodwill' })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect((err as ModuleError | null)?.code).to.equal('UNEXPECTED_STATE');
    // the held draft still carries the €500.00 and the line is still held
    const held = await s.f.panel.api.getInvoice(opened.value.heldInvoiceId!);
    expect([held.status, held.total]).to.deep.equal(['Draft', '500.00']);
    expect((await knex('mod_overusage_lines').where({ id: lineId }).first()).status).to.equal('held');
  });
});
