import { expect } from 'chai';
import type { Knex } from 'knex';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import {
  buildBillingStory,
  closeMay,
  disputeLine,
  GB,
  STORY_EUR,
  type BillingStory,
  type StoryMoney,
} from '../support/billing-story.js';
import { ADMIN_ACTOR as ADMIN, CLI_ACTOR, CLIENT_ACTOR as CLIENT } from '../support/module-fixture.js';

/**
 * What each decision on a held line leaves on the panel and in the line, and who may take it
 * (issue 13: the disputes mutation run found these rules held by no test of its set). The story
 * (test/support/billing-story.ts): 1 000 GB over the 5 TB allowance in May, billed on the renewal
 * of 2 June at €0.50 = €500.00 (¥80 = ¥80 000 in JPY) beside the VPS (€19.95), disputed on 5 June
 * (the line moves to a draft of its own), decided on 10 June: due 10 + 14 days = 24 June.
 */
describeEachEngine('a decision on a held line', ({ db }) => {
  let knex: Knex;

  async function held(money: StoryMoney = STORY_EUR) {
    knex = db().knex;
    const s = await buildBillingStory(knex, money);
    await closeMay(s);
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    const row = await knex('mod_overusage_lines').where({ service_id: s.story.serviceId }).first();
    const d = await disputeLine(s, toNum(row.id));
    expect(d.holdState).to.equal('held');
    s.f.clock.set('2013-06-10T09:00:00Z');
    return { s, d, renewal: toNum(row.invoice_id), lineId: toNum(row.id), ref: String(row.ref_code) };
  }
  const lineRow = async (lineId: number) => {
    const r = await knex('mod_overusage_lines')
      .where({ id: lineId })
      .first('status', 'amount_minor', 'description');
    return {
      status: String(r.status),
      amountMinor: BigInt(r.amount_minor),
      description: String(r.description),
    };
  };
  const invoice = async (s: BillingStory, id: number) => {
    const inv = await s.f.panel.api.getInvoice(id);
    return {
      status: inv.status,
      total: inv.total,
      dueDate: inv.dueDate,
      notes: inv.notes,
      items: inv.items.map((i) => [i.amount, i.description]),
    };
  };
  const auditOf = async (action: string) =>
    (await knex('mod_overusage_audit').where({ action }).select('details')).map((r) =>
      JSON.parse(String(r.details)),
    );

  it('waived: the draft is cancelled with the line at €0.00 and the waived text, the line waived at 0, the renewal names no invoice', async () => {
    const { s, d, renewal, lineId, ref } = await held();
    const res = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'waived', actor: ADMIN });
    expect(res.ok ? [res.value.state, res.value.amountAfterMinor] : res.code).to.deep.equal(['waived', null]);
    const draft = await invoice(s, d.heldInvoiceId!);
    expect([draft.status, draft.total, draft.items.length, draft.items[0]![0]]).to.deep.equal([
      'Cancelled',
      '0.00',
      1,
      '0.00',
    ]);
    expect(draft.items[0]![1]).to.match(
      / — waived after review of your dispute \(€500\.00\) \[OU-[0-9A-F]+\]$/,
    );
    const line = await lineRow(lineId);
    expect([line.status, line.amountMinor, line.description]).to.deep.equal([
      'waived',
      0n,
      draft.items[0]![1],
    ]);
    expect((await invoice(s, renewal)).notes).to.equal(
      `Overusage line [${ref}]: waived after your dispute (was €500.00); you owe nothing for it.`,
    );
    expect(await auditOf('dispute.waived')).to.deep.equal([
      {
        lineId,
        amountBeforeMinor: '50000',
        amountAfterMinor: '0',
        currency: 'EUR',
        resolution: { adjustment: null, note: null, rerated: null },
        dueDate: '2013-06-24',
      },
    ]);
    expect(await auditOf('dispute.credit_note'), 'a held line was never paid: no credit note').to.deep.equal(
      [],
    );
  });

  it('adjusted to ¥0 by hand (JPY): the draft is cancelled, never published, and the renewal says waived', async () => {
    // ¥80 000 set to ¥0: nothing is owed, told as a waiver
    const { s, d, renewal, lineId, ref } = await held({
      code: 'JPY',
      hosting: '2980.00',
      overage: '80',
      precommit: '60',
    });
    const res = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'adjusted',
      actor: ADMIN,
      adjustment: { kind: 'amount', amount: '0' },
    });
    expect(res.ok ? [res.value.state, res.value.amountAfterMinor] : res.code).to.deep.equal(['adjusted', 0n]);
    const draft = await invoice(s, d.heldInvoiceId!);
    expect([draft.status, draft.total, draft.items[0]![0]]).to.deep.equal(['Cancelled', '0.00', '0.00']);
    expect((await lineRow(lineId)).amountMinor).to.equal(0n);
    expect((await invoice(s, renewal)).notes).to.equal(
      `Overusage line [${ref}]: waived after your dispute (was JP¥80,000); you owe nothing for it.`,
    );
  });

  it('upheld (JPY): the draft is published on 10 June, due 24 June, at ¥80 000, and both invoices say so', async () => {
    const { s, d, renewal, lineId, ref } = await held({
      code: 'JPY',
      hosting: '2980.00',
      overage: '80',
      precommit: '60',
    });
    const before = await lineRow(lineId);
    const res = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'upheld', actor: ADMIN });
    expect(res.ok ? [res.value.state, res.value.newDueDate] : res.code).to.deep.equal([
      'upheld',
      '2013-06-24',
    ]);
    const published = await invoice(s, d.heldInvoiceId!);
    expect([published.status, published.total, published.dueDate]).to.deep.equal([
      'Unpaid',
      '80000.00',
      '2013-06-24',
    ]);
    expect(published.notes).to.equal(
      `Overusage line [${ref}] of invoice #${renewal}: upheld after your dispute (JP¥80,000).`,
    );
    expect((await invoice(s, renewal)).notes).to.equal(
      `Overusage line [${ref}]: upheld after your dispute (JP¥80,000); billed on invoice #${d.heldInvoiceId}.`,
    );
    // the line keeps its text and amount, placed on the published invoice
    expect(await lineRow(lineId)).to.deep.equal({ ...before, status: 'placed' });
    expect((await auditOf('dispute.upheld'))[0]).to.deep.include({
      amountBeforeMinor: '80000',
      amountAfterMinor: '80000',
      currency: 'JPY',
    });
  });

  it('previews each adjustment with the sentence that says how (EUR)', async () => {
    const { s, d } = await held();
    // 40 % of €500.00 = €200.00; €120.00 by hand; 1 000 GB × €0.35 = €350.00
    expect(await s.mod.disputes!.preview(d.id, { kind: 'share', percent: '40' })).to.deep.equal({
      amountMinor: 20000n,
      currency: 'EUR',
      explanation: '40 % of the original amount',
    });
    expect(await s.mod.disputes!.preview(d.id, { kind: 'amount', amount: '120.00' })).to.deep.equal({
      amountMinor: 12000n,
      currency: 'EUR',
      explanation: 'set by hand',
    });
    const rerated = await s.mod.disputes!.preview(d.id, { kind: 'precommit' });
    expect([rerated.amountMinor, rerated.explanation]).to.deep.equal([
      35000n,
      // 1 000 GB over × €0.35 = €350.00; the rates as money with the unit, not bare decimals
      're-rated at the rate agreed in advance: €0.35 per GB instead of €0.50',
    ]);
  });

  it("refuses what no one may decide: another client's dispute, an adjustment without an amount, a stale version, a second decision", async () => {
    const { s, d } = await held();
    const thrown = (p: Promise<unknown>) =>
      p.then(
        () => null,
        (e: { code?: string }) => e.code,
      );
    // the Dutch client cannot see, let alone withdraw, Ann's dispute
    expect(
      await thrown(
        s.mod.disputes!.resolve({ disputeId: d.id, to: 'withdrawn', actor: CLIENT(s.story.dutchClientId) }),
      ),
    ).to.equal('NOT_FOUND');
    expect(await thrown(s.mod.disputes!.get(d.id, { clientId: s.story.dutchClientId }))).to.equal(
      'NOT_FOUND',
    );
    expect((await s.mod.disputes!.get(d.id, { clientId: s.story.clientId })).id).to.equal(d.id);
    expect(await thrown(s.mod.disputes!.resolve({ disputeId: d.id, to: 'adjusted', actor: ADMIN }))).to.equal(
      'INVALID_INPUT',
    );
    const stale = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'upheld',
      actor: ADMIN,
      expectedVersion: d.version - 1,
    });
    expect(stale.ok ? 'decided' : [stale.code, stale.details]).to.deep.equal([
      'CONFLICT',
      { version: d.version },
    ]);
    expect((await s.mod.disputes!.get(d.id)).state, 'nothing decided').to.equal('open');
    const first = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'upheld',
      actor: ADMIN,
      expectedVersion: d.version,
    });
    expect(first.ok).to.equal(true);
    const again = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'waived', actor: ADMIN });
    expect(again.ok ? 'decided' : again.code).to.equal('INVALID_TRANSITION');
    expect((await s.mod.disputes!.get(d.id)).state).to.equal('upheld');
  });

  it('tells an admin why a line cannot be disputed again, with the dispute and its state in words', async () => {
    const { s, d, lineId } = await held();
    const open = await s.mod.disputes!.open({ lineId, reason: 'for the client', actor: ADMIN });
    expect(open.ok ? 'opened' : [open.code, open.message, open.details]).to.deep.equal([
      'ALREADY_DISPUTED',
      `this line is already disputed (dispute ${d.id}, open)`,
      { disputeId: d.id },
    ]);
    await s.mod.disputes!.resolve({ disputeId: d.id, to: 'waived', actor: ADMIN });
    const waived = await s.mod.disputes!.open({ lineId, reason: 'for the client', actor: ADMIN });
    expect(waived.ok ? 'opened' : waived.message).to.equal(
      `this line is already disputed (dispute ${d.id}, waived)`,
    );
    const client = await s.mod.disputes!.open({ lineId, reason: 'again', actor: CLIENT(s.story.clientId) });
    expect(client.ok ? 'opened' : [client.code, client.message]).to.deep.equal([
      'ALREADY_DISPUTED',
      'This line is already disputed.',
    ]);
  });

  it('a decision asked while another is being carried out is refused; the first is finished by resume()', async () => {
    const { s, d, renewal } = await held();
    // the panel fails before it changes the held draft: the decision to uphold is recorded, not yet done
    s.faulty.failNext = { method: 'updateInvoice', when: 'before', times: 1 };
    const first = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'upheld', actor: ADMIN }).then(
      () => null,
      (e: { code?: string }) => e.code,
    );
    expect(first).to.equal('UPSTREAM');
    s.faulty.failNext = null;
    const second = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'waived', actor: ADMIN });
    expect(second.ok ? 'decided' : [second.code, second.message]).to.deep.equal([
      'CONFLICT',
      'the dispute is already being upheld',
    ]);
    expect(await s.mod.disputes!.resume()).to.deep.equal({ resumed: 1, failed: 0 });
    expect((await s.mod.disputes!.get(d.id)).state).to.equal('upheld');
    expect((await invoice(s, d.heldInvoiceId!)).total).to.equal('500.00');
    expect((await invoice(s, renewal)).total).to.equal('19.95');
  });

  it('two sweeps at once finish an interrupted waiver once: the renewal keeps the waived words, one "waived" in the audit', async () => {
    const { s, d, renewal, ref } = await held();
    // the panel fails before it cancels the held draft: the waiver is recorded, not yet done
    s.faulty.failNext = { method: 'updateInvoice', when: 'before', times: 1 };
    const first = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'waived', actor: ADMIN }).then(
      () => null,
      (e: { code?: string }) => e.code,
    );
    expect(first).to.equal('UPSTREAM');
    // both read the waiver as unfinished; the second waits for the first's lease, then finds it done
    expect(await Promise.all([s.mod.disputes!.resume(), s.mod.disputes!.resume()])).to.deep.equal([
      { resumed: 1, failed: 0 },
      { resumed: 1, failed: 0 },
    ]);
    expect((await invoice(s, renewal)).notes).to.equal(
      `Overusage line [${ref}]: waived after your dispute (was €500.00); you owe nothing for it.`,
    );
    expect(await auditOf('dispute.waived')).to.have.length(1);
  });

  it('who decides: the command line as an admin; the system never', async () => {
    const { s, d } = await held();
    const system = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'upheld',
      actor: { type: 'system', id: null },
    });
    expect(system.ok ? 'decided' : [system.code, system.message]).to.deep.equal([
      'NOT_ALLOWED',
      'only admin may make a dispute upheld',
    ]);
    const cli = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'upheld', actor: CLI_ACTOR });
    expect(cli.ok ? cli.value.state : cli.code).to.equal('upheld');
  });

  it('says which adjustment it cannot take, in words (EUR)', async () => {
    const { s, d } = await held();
    const refused = (adjustment: Parameters<NonNullable<BillingStory['mod']['disputes']>['preview']>[1]) =>
      s.mod.disputes!.preview(d.id, adjustment).then(
        () => null,
        (e: { code?: string; message?: string }) => [e.code, e.message],
      );
    expect(await refused({ kind: 'share', percent: '33.333' })).to.deep.equal([
      'INVALID_INPUT',
      'percent has more than 2 decimals',
    ]);
    expect(await refused({ kind: 'share', percent: '100.01' })).to.deep.equal([
      'INVALID_INPUT',
      'percent must be between 0 and 100',
    ]);
    expect(await refused({ kind: 'amount', amount: '500.001' })).to.deep.equal([
      'INVALID_INPUT',
      'amount has more than 2 decimals',
    ]);
    // €500.01 is one cent more than the line
    expect(await refused({ kind: 'amount', amount: '500.01' })).to.deep.equal([
      'INVALID_INPUT',
      'an adjustment cannot raise the amount; uphold the line instead',
    ]);
    expect(await refused({ kind: 'amount', amount: '500.00' })).to.equal(null);
    expect(
      await s.mod.disputes!.get(99999).then(
        () => null,
        (e: { code?: string; message?: string }) => [e.code, e.message],
      ),
    ).to.deep.equal(['NOT_FOUND', 'dispute 99999 does not exist']);
  });
});

describeEachEngine('a decision the panel or the product cannot carry out as asked', ({ db }) => {
  async function billed(knex: Knex, product?: (s: BillingStory) => Promise<unknown>) {
    const s = await buildBillingStory(knex);
    if (product) await product(s);
    await closeMay(s);
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    const row = await knex('mod_overusage_lines').where({ service_id: s.story.serviceId }).first();
    return { s, lineId: toNum(row.id), renewal: toNum(row.invoice_id) };
  }

  it('a hold the panel never finished is finished by the decision: the €500.00 line leaves the renewal and is published', async () => {
    const knex = db().knex;
    const { s, lineId, renewal } = await billed(knex);
    // the panel refuses the held draft while the dispute is opened: it stays "holding", the line on the renewal
    s.faulty.failNext = { method: 'createInvoice', when: 'before', times: 1 };
    const d = await disputeLine(s, lineId);
    expect(d.holdState).to.equal('holding');
    expect((await s.f.panel.api.getInvoice(renewal)).total).to.equal('519.95');
    s.f.clock.set('2013-06-10T09:00:00Z');
    const res = await s.mod.disputes!.resolve({ disputeId: d.id, to: 'upheld', actor: ADMIN });
    expect(res.ok ? [res.value.state, res.value.holdState] : res.code).to.deep.equal(['upheld', 'published']);
    const after = await s.mod.disputes!.get(d.id);
    const published = await s.f.panel.api.getInvoice(after.heldInvoiceId!);
    expect([published.status, published.total, published.dueDate]).to.deep.equal([
      'Unpaid',
      '500.00',
      '2013-06-24',
    ]);
    // 519.95 − 500.00
    expect((await s.f.panel.api.getInvoice(renewal)).total).to.equal('19.95');
  });

  it('resume() counts the holds it finished and those the panel still refused', async () => {
    const knex = db().knex;
    const { s, lineId } = await billed(knex);
    // refused when the dispute is opened and at the first resume; taken at the second
    s.faulty.failNext = { method: 'createInvoice', when: 'before', times: 2 };
    const d = await disputeLine(s, lineId);
    expect(await s.mod.disputes!.resume()).to.deep.equal({ resumed: 0, failed: 1 });
    expect((await s.mod.disputes!.get(d.id)).holdState).to.equal('holding');
    expect(await s.mod.disputes!.resume()).to.deep.equal({ resumed: 1, failed: 0 });
    expect((await s.mod.disputes!.get(d.id)).holdState).to.equal('held');
    expect(await s.mod.disputes!.resume()).to.deep.equal({ resumed: 0, failed: 0 });
  });

  it('two sweeps at once finish an interrupted hold once: one held draft, one "held" in the audit', async () => {
    const knex = db().knex;
    const { s, lineId, renewal } = await billed(knex);
    s.faulty.failNext = { method: 'createInvoice', when: 'before', times: 1 };
    const d = await disputeLine(s, lineId);
    expect(d.holdState).to.equal('holding');
    // both sweeps read the dispute as unfinished; the second waits for the first's lease, then finds it held
    expect(await Promise.all([s.mod.disputes!.resume(), s.mod.disputes!.resume()])).to.deep.equal([
      { resumed: 1, failed: 0 },
      { resumed: 1, failed: 0 },
    ]);
    expect(await knex('mod_overusage_audit').where({ action: 'dispute.held' })).to.have.length(1);
    expect(
      (await s.f.panel.api.getInvoices({ userId: s.story.clientId, status: 'Draft' })).totalResults,
    ).to.equal(1);
    expect((await s.f.panel.api.getInvoice(renewal)).total).to.equal('19.95');
  });

  it('no rate agreed in advance: the re-rating is refused by name, the preview too', async () => {
    const knex = db().knex;
    const { s, lineId } = await billed(knex, (x) =>
      x.mod.billing.setProduct(
        x.story.productId,
        {
          unit: 'GB',
          model: 'per_unit',
          allowance: '5 TB',
          prices: { EUR: { overage: '0.50' } },
          window: { days: 14, counting: 'calendar', holidays: 'BE' },
        },
        CLI_ACTOR,
      ),
    );
    const d = await disputeLine(s, lineId);
    const message = 'the product has no EUR rate agreed in advance (precommit) to re-rate at';
    const res = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'adjusted',
      actor: ADMIN,
      adjustment: { kind: 'precommit' },
    });
    expect(res.ok ? 'decided' : [res.code, res.message]).to.deep.equal(['NO_PRECOMMIT_RATE', message]);
    expect(
      await s.mod.disputes!.preview(d.id, { kind: 'precommit' }).then(
        () => null,
        (e: { code?: string; message?: string }) => [e.code, e.message],
      ),
    ).to.deep.equal(['INVALID_INPUT', message]);
    expect((await s.mod.disputes!.get(d.id)).state).to.equal('open');
  });

  it('a line not on an invoice yet cannot be disputed, said to the client and to the admin', async () => {
    const knex = db().knex;
    const { s, lineId } = await billed(knex);
    await knex('mod_overusage_lines').where({ id: lineId }).update({ status: 'pending' });
    s.f.clock.set('2013-06-05T10:00:00Z');
    const client = await s.mod.disputes!.open({
      lineId,
      reason: 'too much',
      actor: CLIENT(s.story.clientId),
    });
    expect(client.ok ? 'opened' : [client.code, client.message]).to.deep.equal([
      'NOT_DISPUTABLE',
      'This line cannot be disputed any more.',
    ]);
    const admin = await s.mod.disputes!.open({ lineId, reason: 'too much', actor: ADMIN });
    expect(admin.ok ? 'opened' : [admin.code, admin.message]).to.deep.equal([
      'NOT_DISPUTABLE',
      'this line cannot be disputed (it is pending)',
    ]);
  });
});

describeEachEngine('opening a dispute: the reason and the override', ({ db }) => {
  it("needs a reason of 3 characters after trimming, refused in the asker's words; an override given in time is not kept", async () => {
    const knex = db().knex;
    const s = await buildBillingStory(knex);
    await closeMay(s);
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    const lineId = toNum(
      (await knex('mod_overusage_lines').where({ service_id: s.story.serviceId }).first()).id,
    );
    s.f.clock.set('2013-06-05T10:00:00Z');
    const short = await s.mod.disputes!.open({ lineId, reason: '  ab  ', actor: CLIENT(s.story.clientId) });
    expect(short.ok ? 'opened' : [short.code, short.message]).to.deep.equal([
      'REASON_REQUIRED',
      'Please say why you dispute this line (at least 3 characters).',
    ]);
    const admin = await s.mod.disputes!.open({ lineId, reason: 'no', actor: ADMIN });
    expect(admin.ok ? 'opened' : [admin.code, admin.message]).to.deep.equal([
      'REASON_REQUIRED',
      'say why you dispute this line',
    ]);
    expect(await knex('mod_overusage_disputes')).to.have.length(0);
    // three characters will do; an admin's override reason means nothing in time
    const opened = await s.mod.disputes!.open({
      lineId,
      reason: ' abc ',
      actor: ADMIN,
      overrideReason: 'not needed',
    });
    if (!opened.ok) throw new Error(opened.message);
    expect([opened.value.reason, opened.value.overrideReason]).to.deep.equal(['abc', null]);
    const audit = await knex('mod_overusage_audit').where({ action: 'dispute.opened' }).first('details');
    expect(JSON.parse(String(audit.details))).to.deep.equal({
      lineId,
      reason: 'abc',
      override: null,
      amountMinor: '50000',
    });
  });
});

/**
 * A correction line re-rated at the agreed rate: May counted again after its €500.00 line was billed
 * (and paid on 3 June), the difference at €0.50 billed as a correction on the July renewal, disputed
 * on 5 July. At the agreed €0.35 the correction bills May's new amount less the €500.00 already billed,
 * never below nothing.
 */
describeEachEngine('a correction line re-rated at the agreed rate', ({ db }) => {
  async function corrected(usedGb: bigint) {
    const knex = db().knex;
    const s = await buildBillingStory(knex);
    await closeMay(s);
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    const first = await knex('mod_overusage_lines').where({ service_id: s.story.serviceId }).first();
    await s.f.panel.api.addInvoicePayment({
      invoiceId: toNum(first.invoice_id),
      transId: 'may',
      gateway: 'banktransfer',
      date: '2013-06-03 10:00:00',
    });
    // May's last day counted again: 5 900 GB before it and (usedGb − 5 900) GB on 31 May
    const periodId = toNum(
      (await knex('mod_overusage_charges').where({ id: first.charge_id }).first()).period_id,
    );
    await knex('mod_overusage_periods')
      .where({ id: periodId })
      .update({ used_bytes: String(usedGb * GB) });
    await knex('mod_overusage_intervals')
      .where({ period_id: periodId, kind: 'daily' })
      .update({ bytes: String((usedGb - 5900n) * GB) });
    const out = await s.mod.rating.reratePeriod(periodId, { actor: CLI_ACTOR, because: 'test.recounted' });
    expect(out.kind).to.equal('corrected');
    s.f.clock.set('2013-07-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-07-02');
    const line = await knex('mod_overusage_lines')
      .where({ charge_id: (out as { chargeId: number }).chargeId })
      .first();
    s.f.clock.set('2013-07-05T10:00:00Z');
    const opened = await s.mod.disputes!.open({
      lineId: toNum(line.id),
      reason: 'counted twice?',
      actor: CLIENT(s.story.clientId),
    });
    if (!opened.ok) throw new Error(opened.message);
    return { s, knex, d: opened.value, amountMinor: BigInt(line.amount_minor) };
  }

  it('7 000 GB: the €500.00 correction becomes 2 000 GB × €0.35 = €700.00 less €500.00 billed = €200.00', async () => {
    // at €0.50: 2 000 GB × 0.50 = €1 000.00, less €500.00 billed = €500.00
    const { s, d, amountMinor } = await corrected(7000n);
    expect(amountMinor).to.equal(50000n);
    expect((await s.mod.disputes!.preview(d.id, { kind: 'precommit' })).amountMinor).to.equal(20000n);
  });

  it('6 400 GB: the €200.00 correction at the agreed rate is 1 400 GB × €0.35 = €490.00, below the €500.00 billed: €0.00, the draft cancelled', async () => {
    // at €0.50: 1 400 GB × 0.50 = €700.00, less €500.00 billed = €200.00
    const { s, knex, d, amountMinor } = await corrected(6400n);
    expect(amountMinor).to.equal(20000n);
    s.f.clock.set('2013-07-10T09:00:00Z');
    const res = await s.mod.disputes!.resolve({
      disputeId: d.id,
      to: 'adjusted',
      actor: ADMIN,
      adjustment: { kind: 'precommit' },
    });
    expect(res.ok ? [res.value.state, res.value.amountAfterMinor] : res.message).to.deep.equal([
      'adjusted',
      0n,
    ]);
    expect((await s.f.panel.api.getInvoice(d.heldInvoiceId!)).status).to.equal('Cancelled');
    // the line names May at the agreed rate, €490.00, as what is now due against the €500.00 billed
    expect(String((await knex('mod_overusage_lines').where({ id: d.lineId }).first()).description)).to.match(
      /^Correction of bandwidth overusage 1 – 31 May 2013 \(re-measured\): 6,400\.00 GB used, 5,000\.00 GB included, 1,400\.00 GB × €0\.35 \(agreed rate\) = €490\.00; now €490\.00, already billed €500\.00 \(dispute by 16 July 2013\) \[OU-/,
    );
    const audit = await knex('mod_overusage_audit').where({ action: 'dispute.adjusted' }).first('details');
    // May's whole amount before and after: 1 400 GB × €0.50 = €700.00, × €0.35 = €490.00
    expect(JSON.parse(String(audit.details)).resolution.rerated.correction).to.deep.equal({
      fromMinor: '70000',
      toMinor: '49000',
    });
  });
});

describeEachEngine('opening a dispute from the command line', ({ db }) => {
  it("the command line opens a dispute of any client's line: it is an admin, not a client looked up by its id", async () => {
    const knex = db().knex;
    const s = await buildBillingStory(knex);
    await closeMay(s);
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    const lineId = toNum(
      (await knex('mod_overusage_lines').where({ service_id: s.story.serviceId }).first()).id,
    );
    s.f.clock.set('2013-06-05T10:00:00Z');
    const opened = await s.mod.disputes!.open({ lineId, reason: 'asked by phone', actor: CLI_ACTOR });
    expect(opened.ok ? [opened.value.lineId, opened.value.clientId] : opened.message).to.deep.equal([
      lineId,
      s.story.clientId,
    ]);
  });
});

describeEachEngine("opening a dispute at the window's close, and long texts", ({ db }) => {
  it('an admin at the closing instant itself (16 June 22:00:00 UTC) is late: the override is needed and kept; a reason is kept to 4 000 characters, an override to 2 000', async () => {
    const knex = db().knex;
    const s = await buildBillingStory(knex);
    await closeMay(s);
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    const lineId = toNum(
      (await knex('mod_overusage_lines').where({ service_id: s.story.serviceId }).first()).id,
    );
    // invoice of 2 June + 14 days: last day 16 June, closing at 17 June 00:00 CEST = 16 June 22:00:00 UTC
    s.f.clock.set('2013-06-16T22:00:00Z');
    const reason = `${'r'.repeat(3999)}RX`; // 4 001 characters: the 4 000th is R
    const override = `${'o'.repeat(1999)}OX`; // 2 001 characters: the 2 000th is O
    const opened = await s.mod.disputes!.open({ lineId, reason, actor: ADMIN, overrideReason: override });
    if (!opened.ok) throw new Error(opened.message);
    expect([opened.value.reason.length, opened.value.reason.slice(-2)]).to.deep.equal([4000, 'rR']);
    expect([opened.value.overrideReason!.length, opened.value.overrideReason!.slice(-2)]).to.deep.equal([
      2000,
      'oO',
    ]);
  });
});
