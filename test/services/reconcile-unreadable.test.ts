import { expect } from 'chai';
import { describeEachEngine } from '../support/engines.js';
import { spoilDate } from '../support/spoil.js';
import { loggedWebStory } from '../support/web-story.js';

const L = 'mod_overusage_lines';

/**
 * The five-minute reconciliation with one pending line that cannot be read. Ann's and Jan's May
 * lines (test/support/web-story.ts: €500.00 and €250.00) are on their June renewals; each is set
 * back to pending, as when a delivery died after the panel took the item and before the module
 * recorded it. Ann's line then gets a deadline that is no date. Before: reading Ann's invoice's
 * lines threw, and the whole reconciliation stopped (every tick), Jan's line with it.
 */
describeEachEngine('reconciling pending lines with one that cannot be read', ({ db, engine }) => {
  const w = loggedWebStory(db);
  beforeEach(async () => {
    await db().knex(L).update({ status: 'pending', invoice_item_id: null, placed_at: null });
  });
  const statusOf = async (id: number) => String((await db().knex(L).where({ id }).first('status')).status);

  it("confirms Jan's line, leaves Ann's invoice as it is and says which line and column", async () => {
    const knex = db().knex;
    await spoilDate(knex, engine, L, 'deadline_last_day', { id: w.s.ann.lineId });
    const annTotal = (await w.s.f.panel.api.getInvoice(w.s.ann.invoiceId)).total;
    const out = await w.s.mod.lines!.reconcilePending();
    // Jan's €250.00 item was found on his invoice by its reference: recorded placed, no change
    expect(out).to.deep.equal({
      confirmed: 1,
      placed: 0,
      released: [],
      recovered: [],
      busy: [],
      unreadable: [
        { invoiceId: w.s.ann.invoiceId, lineId: w.s.ann.lineId, column: `${L}.deadline_last_day` },
      ],
    });
    expect(await statusOf(w.s.jan.lineId)).to.equal('placed');
    expect(await statusOf(w.s.ann.lineId)).to.equal('pending');
    expect((await w.s.f.panel.api.getInvoice(w.s.ann.invoiceId)).total).to.equal(annTotal);
    const lines = w.logged.filter((l) => l.event === 'lines.row_unreadable');
    expect(lines.map((l) => [l.table, l.id, l.invoiceId, l.column, l.reason])).to.deep.equal([
      [L, w.s.ann.lineId, w.s.ann.invoiceId, `${L}.deadline_last_day`, 'not a date'],
    ]);
    // no stored value in the log
    expect(JSON.stringify(lines)).not.to.match(/2013-06-31|0000-00-00/);
    // corrected in the database, the next tick confirms Ann's too
    await knex(L).where({ id: w.s.ann.lineId }).update({ deadline_last_day: '2013-06-16' });
    expect((await w.s.mod.lines!.reconcilePending()).confirmed).to.equal(1);
    expect(await statusOf(w.s.ann.lineId)).to.equal('placed');
  });
});
