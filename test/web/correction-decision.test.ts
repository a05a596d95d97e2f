import { expect } from 'chai';
import request from 'supertest';
import { toBig, toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { ADMIN, ANN, GB, buildWebStory, login, pageText, type WebStory } from '../support/web-story.js';

const SYSTEM = { type: 'system' as const, id: null };

/**
 * A correction line re-rated lower at the agreed rate (issue 15): what the invoice, the evidence,
 * the widget, the admin's line page and the emails say afterwards, against the money.
 *
 * The story (test/support/web-story.ts): Ann used 6 TB in May on a 5 TB plan at €0.50 per GB
 * over, €0.35 agreed in advance: 1,000 GB × €0.50 = €500.00, billed on her renewal of 2 June.
 * On 5 June May is re-measured 1,000 GB higher (7 TB): 2,000 GB × €0.50 = €1,000.00, €500.00
 * already billed, so a correction of €500.00 goes on the renewal of 2 July. Ann disputes it on
 * 5 July; on 10 July the admin re-rates it at the agreed rate: the period at €0.35 is
 * 2,000 GB × €0.35 = €700.00, less the €500.00 already billed: the correction bills €200.00.
 */
describeEachEngine('a correction line re-rated at the agreed rate', ({ db }) => {
  let s: WebStory;
  let lineId: number;
  let disputeId: number;

  before(async function () {
    this.timeout(60_000);
    s = await buildWebStory(db().knex);
    const knex = s.f.knex;
    const may = await knex('mod_overusage_periods')
      .where({ service_id: s.ann.serviceId, start_date: '2013-05-01' })
      .first('id', 'used_bytes');
    const last = await knex('mod_overusage_intervals')
      .where({ period_id: may.id })
      .orderBy('id', 'desc')
      .first('id', 'bytes');
    await knex('mod_overusage_intervals')
      .where({ id: last.id })
      .update({ bytes: String(toBig(last.bytes) + 1000n * GB) });
    await knex('mod_overusage_periods')
      .where({ id: may.id })
      .update({ used_bytes: String(toBig(may.used_bytes) + 1000n * GB) });
    const out = await s.mod.rating.reratePeriod(toNum(may.id), { actor: SYSTEM, because: 'periods.rebuilt' });
    if (out.kind !== 'corrected' || out.differenceMinor !== 50000n)
      throw new Error(`not corrected: ${out.kind}`);
    // Ann pays June's renewal, so the panel invoices her July renewal (with the correction) on 2 July
    await s.f.panel.api.addInvoicePayment({
      invoiceId: s.ann.invoiceId,
      transId: 'june',
      gateway: 'banktransfer',
      date: '2013-06-05 10:00:00',
    });
    s.f.clock.set('2013-07-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-07-02');
    const line = await knex('mod_overusage_lines')
      .where({ service_id: s.ann.serviceId })
      .orderBy('id', 'desc')
      .first('id');
    lineId = toNum(line.id);
    s.f.clock.set('2013-07-05T10:00:00Z');
    const opened = await request(s.app)
      .post(`/overusage/api/v1/client/lines/${lineId}/dispute`)
      .set('Authorization', `Bearer ${s.token('client', s.ann.clientId)}`)
      .send({ reason: 'The re-measured traffic was a backup.' });
    if (opened.status !== 201) throw new Error(opened.text);
    disputeId = opened.body.dispute.id;
    s.f.clock.set('2013-07-10T09:00:00Z');
    const res = await request(s.app)
      .post(`/overusage/api/v1/admin/disputes/${disputeId}/resolve`)
      .set('Authorization', `Bearer ${s.token('admin', s.adminId)}`)
      .send({ to: 'adjusted', adjustment: { kind: 'precommit' } });
    if (res.status !== 200) throw new Error(res.text);
  });

  // "2,000.00 GB × €0.35 (agreed rate) = €700.00; now €700.00, already billed €500.00": €700.00 − €500.00 = €200.00
  const TEXT =
    /^Correction of bandwidth overusage 1 – 31 May 2013 \(re-measured\): 7,000\.00 GB used, 5,000\.00 GB included, 2,000\.00 GB × €0\.35 \(agreed rate\) = €700\.00; now €700\.00, already billed €500\.00 \(dispute by 16 July 2013\) \[OU-[0-9A-F]+\]$/;
  const lineRow = async () =>
    s.f.knex('mod_overusage_lines').where({ id: lineId }).first('amount_minor', 'description', 'invoice_id');

  it('the line bills €200.00 (€700.00 at the agreed rate less €500.00 already billed) and says so', async () => {
    const line = await lineRow();
    expect(toBig(line.amount_minor)).to.equal(20000n);
    expect(String(line.description)).to.match(TEXT);
  });

  it('the invoice the client pays carries €200.00 with the same text, and the July renewal says where it went', async () => {
    const line = await lineRow();
    const held = await s.f.panel.api.getInvoice(toNum(line.invoice_id));
    expect([held.status, held.total]).to.deep.equal(['Unpaid', '200.00']);
    expect(held.items.map((i) => [i.amount, i.description])).to.deep.equal([['200.00', line.description]]);
    const renewal = await s.f
      .knex('tblinvoices')
      .where({ userid: s.ann.clientId, duedate: '2013-07-09' })
      .first();
    expect([String(renewal.total), String(renewal.notes)]).to.deep.equal([
      '19.95',
      `Overusage line [${/\[(OU-[0-9A-F]+)\]$/.exec(String(line.description))![1]}]: reduced from €500.00 to €200.00 after your dispute; billed on invoice #${toNum(line.invoice_id)}.`,
    ]);
  });

  it('the evidence rates the period at €0.35 (€700.00, the €0.50 rating of €1,000.00 beside it) and bills €200.00', async () => {
    const ev = await request(s.app)
      .get(`/overusage/api/v1/client/lines/${lineId}/evidence`)
      .set('Authorization', `Bearer ${s.token('client', s.ann.clientId)}`)
      .expect(200);
    expect([
      ev.body.line.amountMinor,
      ev.body.rated.rate,
      ev.body.rated.overBytes,
      ev.body.rated.amountMinor,
    ]).to.deep.equal(['20000', '0.35', '2000000000000', '70000']);
    expect([ev.body.ratedBeforeDecision.rate, ev.body.ratedBeforeDecision.amountMinor]).to.deep.equal([
      '0.50',
      '100000',
    ]);
  });

  it('the widget shows the correction at €200.00, adjusted from €500.00, and May as 2,000 GB over, €700.00 billed in all', async () => {
    const client = await login(s.app, ANN);
    const widget = pageText((await client.agent.get('/index.php?m=overusage').expect(200)).text);
    expect(widget).to.match(
      /invoice #\d+ · OU-[0-9A-F]+ €200\.00 €500\.00 adjusted after dispute Correction of/,
    );
    expect(widget).to.include('Adjusted on 10 July 2013 from €500.00 to €200.00; due on 24 July 2013.');
    expect(widget).not.to.include('× €0.50 = €1,000.00');
    // May: 7,000 GB used − 5,000 GB included = 2,000 GB over; €500.00 + €200.00 = €700.00 billed
    expect(widget).to.include(
      '1 – 31 May 2013 7,000.00 GB 5,000.00 GB 2,000.00 GB Billed: €700.00 (adjusted after dispute)',
    );
  });

  it("the admin's line page rates at the agreed rate and tells what the line billed before and after", async () => {
    const admin = await login(s.app, ADMIN);
    const page = pageText(
      (await admin.agent.get(`/admin/addonmodules.php?module=overusage&a=line&id=${lineId}`).expect(200))
        .text,
    );
    expect(page).to.include('Amount €200.00');
    expect(page).to.include('Rate: €0.35 per GB (agreed rate) Exact amount €700.00');
    expect(page).to.include(
      'Outcome: rated €1,000.00, this line billed €500.00; after the dispute: adjusted to €200.00',
    );
  });

  it("the emails to the client and the admin tell €500.00 reduced to €200.00, with the line's new text", async () => {
    const mails = await s.f
      .knex('tblemails')
      .where('subject', 'like', '%OU-%')
      .orderBy('id')
      .select('userid', 'message');
    const last = (userid: number) =>
      pageText(String(mails.filter((m) => toNum(m.userid) === userid).at(-1)!.message));
    expect(last(s.ann.clientId)).to.include('is reduced from €500.00 to €200.00, due on 24 July 2013.');
    expect(last(s.ann.clientId)).to.include(
      '2,000.00 GB × €0.35 (agreed rate) = €700.00; now €700.00, already billed €500.00',
    );
    expect(last(0)).to.include('is reduced from €500.00 to €200.00, due on 24 July 2013.');
  });
});
