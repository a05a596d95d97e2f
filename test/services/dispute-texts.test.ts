import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import type { DisputeRecord } from '../../module/adapters/dispute-store.js';
import { toNum } from '../../module/adapters/rows.js';
import { decidedText } from '../../module/services/dispute-invoices.js';
import { describeEachEngine } from '../support/engines.js';
import {
  billMay,
  buildBillingStory,
  closeMay,
  disputeLine,
  type BillingStory,
} from '../support/billing-story.js';
import { ADMIN_ACTOR as ADMIN, CLI_ACTOR, CLIENT_ACTOR as CLIENT } from '../support/module-fixture.js';

/** no-break spaces (Intl puts them in "€ 350,00") read as spaces */
const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

/**
 * What the invoice line and the emails say after a decision, against the money. The seed story:
 * 6 TB used of 5 TB in May 2013, 1,000 GB over at €0.50/GB = €500.00 on the renewal of 2 June;
 * the rate agreed in advance is €0.35/GB. Decided on 1 July, due 14 days later: 15 July 2013.
 */
describeEachEngine('the money story after a decision', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;
  let renewal: number;
  let lineId: number;
  let ref: string;

  async function bill(language: string) {
    knex = db().knex;
    ({ s, renewal, lineId, ref } = await billMay(knex, language));
  }

  async function disputeAndDecide(decide: (disputeId: number) => Promise<unknown>) {
    const opened = { value: await disputeLine(s, lineId) };
    s.f.clock.set('2013-07-01T09:00:00Z');
    const res = (await decide(opened.value.id)) as { ok: boolean; message?: string };
    expect(res.ok, res.message).to.equal(true);
    return opened.value;
  }

  const emails = async () =>
    (
      await knex('tblemails')
        .where('subject', 'like', '%dispute%')
        .orWhere('subject', 'like', '%bezwaar%')
        .orderBy('id')
        .select('userid', 'subject', 'message')
    ).map((m) => ({ ...m, message: plain(String(m.message)) }));

  it('re-rated at the agreed rate: the line names €0.35 as the agreed rate next to €350.00, and the email says the same (English)', async () => {
    await bill('english');
    const d = await disputeAndDecide((id) =>
      s.mod.disputes!.resolve({
        disputeId: id,
        to: 'adjusted',
        actor: ADMIN,
        adjustment: { kind: 'precommit' },
      }),
    );
    // 1 000.00 GB × €0.35 = €350.00, the amount named after the agreed rate
    const inv = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
    expect(inv.total).to.equal('350.00');
    const item = inv.items.find((i) => i.description.includes('overusage'))!;
    expect(item.description).to.include('1,000.00 GB × €0.35 (agreed rate) = €350.00');
    expect(item.description).not.to.include('€0.50');
    const line = await knex('mod_overusage_lines').where({ id: lineId }).first();
    expect(String(line.description)).to.equal(item.description);
    expect(String(line.amount_minor)).to.equal('35000');
    const mails = await emails();
    const toClient = mails.filter((m) => toNum(m.userid) === s.story.clientId).at(-1)!;
    expect(toClient.message).to.include('Dear ');
    expect(toClient.message).to.include(`is reduced from €500.00 to €350.00, due on 15 July 2013.`);
    expect(toClient.message).to.include('1,000.00 GB × €0.35 (agreed rate) = €350.00');
    expect(toClient.message).to.include('Kind regards,');
    expect(renewal).to.be.a('number');
  });

  it('re-rated under a cap that no longer holds: €500.00 capped at €400.00 becomes €350.00, and "capped at" leaves the line and the email', async () => {
    knex = db().knex;
    s = await buildBillingStory(knex);
    const eur = { overage: '0.50', precommit: '0.35', cap: '400.00' };
    await s.mod.billing.setProduct(
      s.story.productId,
      {
        unit: 'GB',
        model: 'per_unit',
        allowance: '5 TB',
        prices: { EUR: eur },
        window: { days: 14, counting: 'calendar', holidays: 'BE' },
      },
      CLI_ACTOR,
    );
    await closeMay(s);
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    const billed = await knex('mod_overusage_lines').where({ service_id: s.story.serviceId }).first();
    lineId = toNum(billed.id);
    // 1 000 GB × €0.50 = €500.00, held at the €400.00 cap
    expect(String(billed.description)).to.include(
      '1,000.00 GB × €0.50 = €500.00, capped at €400.00 (dispute by',
    );
    expect(String(billed.amount_minor)).to.equal('40000');
    const d = await disputeAndDecide((id) =>
      s.mod.disputes!.resolve({
        disputeId: id,
        to: 'adjusted',
        actor: ADMIN,
        adjustment: { kind: 'precommit' },
      }),
    );
    // 1 000 GB × €0.35 = €350.00, under the €400.00 cap: billed in full, the cap no longer named
    const inv = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
    expect(inv.total).to.equal('350.00');
    const item = inv.items.find((i) => /\[OU-/.test(i.description))!;
    expect(item.description).to.include('1,000.00 GB × €0.35 (agreed rate) = €350.00 (dispute by');
    expect(item.description).not.to.match(/capped|€400\.00|€0\.50/);
    const line = await knex('mod_overusage_lines').where({ id: lineId }).first();
    expect([String(line.description), String(line.amount_minor)]).to.deep.equal([item.description, '35000']);
    const toClient = (await emails()).filter((m) => toNum(m.userid) === s.story.clientId).at(-1)!;
    expect(toClient.message).to.include('is reduced from €400.00 to €350.00, due on 15 July 2013.');
    expect(toClient.message).to.include('1,000.00 GB × €0.35 (agreed rate) = €350.00');
    expect(toClient.message).not.to.include('capped at');
  });

  it('a rate agreed in advance above the billed one would raise the line: refused, the line and the held money unchanged (USD)', async () => {
    knex = db().knex;
    // Ann pays in USD: 1 000 GB × $0.55 = $550.00; at the "agreed" $0.70 it would be $700.00, more than billed
    s = await buildBillingStory(knex, { code: 'USD', hosting: '21.95', overage: '0.55', precommit: '0.70' });
    await closeMay(s);
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    const billed = await knex('mod_overusage_lines').where({ service_id: s.story.serviceId }).first();
    lineId = toNum(billed.id);
    expect(String(billed.amount_minor)).to.equal('55000');
    const d = await disputeLine(s, lineId);
    s.f.clock.set('2013-07-01T09:00:00Z');
    const why =
      'the rate agreed in advance (0.70) would raise the line above what it bills; uphold the line instead';
    const asked = (p: Promise<unknown>) =>
      p.then(
        () => null,
        (e: { code?: string; message?: string }) => [e.code, e.message],
      );
    expect(await asked(s.mod.disputes!.preview(d.id, { kind: 'precommit' }))).to.deep.equal([
      'INVALID_INPUT',
      why,
    ]);
    expect(
      await asked(
        s.mod.disputes!.resolve({
          disputeId: d.id,
          to: 'adjusted',
          actor: ADMIN,
          adjustment: { kind: 'precommit' },
        }),
      ),
    ).to.deep.equal(['INVALID_INPUT', why]);
    const still = await s.mod.disputes!.get(d.id);
    expect(still.state).to.equal('open');
    const line = await knex('mod_overusage_lines').where({ id: lineId }).first();
    expect([String(line.amount_minor), String(line.description)]).to.deep.equal([
      '55000',
      String(billed.description),
    ]);
    expect((await s.f.panel.api.getInvoice(still.heldInvoiceId!)).total).to.equal('550.00');
  });

  it('a share for a Dutch client: the line says "verlaagd naar € 350,00", the client is told in Dutch, the admin in English with English dates', async () => {
    await bill('dutch');
    // 70 % of €500.00 = €350.00
    const d = await disputeAndDecide((id) =>
      s.mod.disputes!.resolve({
        disputeId: id,
        to: 'adjusted',
        actor: ADMIN,
        adjustment: { kind: 'share', percent: '70' },
      }),
    );
    const inv = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
    expect(inv.total).to.equal('350.00');
    const item = inv.items.find((i) => /\[OU-/.test(i.description))!;
    expect(plain(item.description)).to.match(
      / — verlaagd naar € 350,00 na beoordeling van uw bezwaar \[OU-[^\]]+\]$/,
    );
    expect(plain(item.description)).to.include('Overschrijding dataverkeer');
    const line = await knex('mod_overusage_lines').where({ id: lineId }).first();
    expect(String(line.description)).to.equal(item.description);
    const mails = await emails();
    const toClient = mails.filter((m) => toNum(m.userid) === s.story.clientId).at(-1)!;
    expect(toClient.message).to.include('Beste ');
    expect(toClient.message).to.include(
      `verlaagd van € 500,00 naar € 350,00, te betalen uiterlijk 15 juli 2013.`,
    );
    const toAdmin = mails.filter((m) => toNum(m.userid) === 0 && /adjusted/.test(String(m.subject))).at(-1)!;
    expect(toAdmin.message).to.include('is reduced from €500.00 to €350.00, due on 15 July 2013.');
    // nothing Dutch in the admin's own sentence (before the quote of what the client was sent)
    expect(toAdmin.message.split('The client was told')[0]).not.to.match(/juli|€ 500,00/);
    expect(toAdmin.message).to.include('The client was told (in Dutch): ');
  });

  it('an amount set by hand (English): "reduced to €120.00 after review of your dispute" beside €120.00', async () => {
    await bill('english');
    const d = await disputeAndDecide((id) =>
      s.mod.disputes!.resolve({
        disputeId: id,
        to: 'adjusted',
        actor: ADMIN,
        adjustment: { kind: 'amount', amount: '120.00' },
      }),
    );
    const inv = await s.f.panel.api.getInvoice(d.heldInvoiceId!);
    expect(inv.total).to.equal('120.00');
    const item = inv.items.find((i) => /\[OU-/.test(i.description))!;
    expect(item.description).to.match(/ — reduced to €120\.00 after review of your dispute \[OU-[^\]]+\]$/);
  });

  it('waived after it was paid: €500.00 goes to credit and the client is told "credited €500.00 to your account"', async () => {
    await bill('english');
    await s.f.panel.api.addInvoicePayment({
      invoiceId: renewal,
      transId: 'pay-all',
      gateway: 'banktransfer',
      date: '2013-06-03 10:00:00',
    });
    await disputeAndDecide((id) =>
      s.mod.disputes!.resolve({ disputeId: id, to: 'waived', actor: ADMIN, settlement: 'credit' }),
    );
    expect((await s.f.panel.api.getClientsDetails(s.story.clientId)).credit).to.equal('500.00');
    const toClient = (await emails()).filter((m) => toNum(m.userid) === s.story.clientId).at(-1)!;
    expect(toClient.message).to.include(
      'is waived; you had paid it already, so we credited €500.00 to your account.',
    );
    expect(toClient.message).not.to.include('you owe nothing');
  });

  it('waived after it was paid, Dutch: "hebben we € 500,00 op uw tegoed gezet"', async () => {
    await bill('dutch');
    await s.f.panel.api.addInvoicePayment({
      invoiceId: renewal,
      transId: 'pay-all',
      gateway: 'banktransfer',
      date: '2013-06-03 10:00:00',
    });
    await disputeAndDecide((id) =>
      s.mod.disputes!.resolve({ disputeId: id, to: 'waived', actor: ADMIN, settlement: 'credit' }),
    );
    const toClient = (await emails()).filter((m) => toNum(m.userid) === s.story.clientId).at(-1)!;
    expect(toClient.message).to.include('u had hem al betaald, dus hebben we € 500,00 op uw tegoed gezet.');
  });

  /** the client's credit log (description, amount), oldest first */
  const creditLog = async () =>
    (
      await knex('tblcredit')
        .where({ clientid: s.story.clientId })
        .orderBy('id')
        .select('description', 'amount')
    ).map((r) => [plain(String(r.description)), String(r.amount)]);
  const payRenewal = () =>
    s.f.panel.api.addInvoicePayment({
      invoiceId: renewal,
      transId: 'pay-all',
      gateway: 'banktransfer',
      date: '2013-06-03 10:00:00',
    });

  it('waived after it was paid (English): the credit log reads "Credit CR-…: overusage line … (€500.00) waived after review of your dispute"', async () => {
    await bill('english');
    await payRenewal();
    await disputeAndDecide((id) =>
      s.mod.disputes!.resolve({ disputeId: id, to: 'waived', actor: ADMIN, settlement: 'credit' }),
    );
    // all of the paid €500.00 comes back
    expect(await creditLog()).to.deep.equal([
      [`Credit CR-${ref}: overusage line ${ref} (€500.00) waived after review of your dispute`, '500.00'],
    ]);
  });

  it('reduced to 70 % after it was paid (Dutch): the credit log reads "verlaagd van € 500,00 naar € 350,00" beside € 150,00', async () => {
    await bill('dutch');
    await payRenewal();
    // 70 % of €500.00 = €350.00; paid €500.00, so €500.00 − €350.00 = €150.00 comes back
    await disputeAndDecide((id) =>
      s.mod.disputes!.resolve({
        disputeId: id,
        to: 'adjusted',
        actor: ADMIN,
        adjustment: { kind: 'share', percent: '70' },
        settlement: 'credit',
      }),
    );
    expect(await creditLog()).to.deep.equal([
      [
        `Creditering CR-${ref}: regel overschrijding ${ref} verlaagd van € 500,00 naar € 350,00 na onderzoek van uw bezwaar`,
        '150.00',
      ],
    ]);
  });

  it('a waiver resumed after the panel took the credit (Dutch) finds it by its reference and credits €500.00 once', async () => {
    await bill('dutch');
    await payRenewal();
    const d = await disputeLine(s, lineId);
    s.f.clock.set('2013-07-01T09:00:00Z');
    // the first call to the panel's API in the waiver is AddCredit: it takes effect, then the step fails
    s.faulty.failNext = { method: 'call', when: 'after', times: 1 };
    const failed = await s.mod
      .disputes!.resolve({ disputeId: d.id, to: 'waived', actor: ADMIN, settlement: 'credit' })
      .then(
        () => null,
        (e: unknown) => e as Error,
      );
    expect(failed?.message).to.match(/the decision is recorded, but the panel did not take it all yet/);
    s.faulty.failNext = null;
    expect(await s.mod.disputes!.resume()).to.deep.equal({ resumed: 1, failed: 0 });
    expect(await creditLog()).to.deep.equal([
      [
        `Creditering CR-${ref}: regel overschrijding ${ref} (€ 500,00) kwijtgescholden na onderzoek van uw bezwaar`,
        '500.00',
      ],
    ]);
    expect((await s.f.panel.api.getClientsDetails(s.story.clientId)).credit).to.equal('500.00');
    expect((await s.mod.disputes!.get(d.id)).state).to.equal('waived');
  });

  it('a waiver resumed over a credit an earlier version gave in its English form credits nothing more', async () => {
    await bill('dutch');
    await payRenewal();
    const d = await disputeLine(s, lineId);
    s.f.clock.set('2013-07-01T09:00:00Z');
    // the intent is recorded, then the step stops before AddCredit …
    s.faulty.failNext = { method: 'call', when: 'before', times: 1 };
    await s.mod
      .disputes!.resolve({ disputeId: d.id, to: 'waived', actor: ADMIN, settlement: 'credit' })
      .catch(() => null);
    s.faulty.failNext = null;
    expect((await s.mod.disputes!.get(d.id)).settlement).to.equal('crediting');
    // … where the earlier version had already given the credit, with its English description
    const old = `Overusage dispute ${d.id}: waived (line ${ref})`;
    await s.f.panel.api.call('AddCredit', { clientid: s.story.clientId, description: old, amount: '500.00' });
    expect(await s.mod.disputes!.resume()).to.deep.equal({ resumed: 1, failed: 0 });
    // €500.00 once, not €1,000.00
    expect(await creditLog()).to.deep.equal([[old, '500.00']]);
    expect((await s.f.panel.api.getClientsDetails(s.story.clientId)).credit).to.equal('500.00');
    expect((await s.mod.disputes!.get(d.id)).settlement).to.equal('credited');
  });

  it('refuses a Dutch client in Dutch, and an admin in English with an English date', async () => {
    await bill('dutch');
    s.f.clock.set('2013-06-05T10:00:00Z');
    const noReason = await s.mod.disputes!.open({ lineId, reason: ' x ', actor: CLIENT(s.story.clientId) });
    expect(noReason.ok ? 'opened' : [noReason.code, noReason.message]).to.deep.equal([
      'REASON_REQUIRED',
      'Zeg waarom u bezwaar maakt tegen deze regel (minstens 3 tekens).',
    ]);
    const first = await s.mod.disputes!.open({
      lineId,
      reason: 'Ik herken dit niet.',
      actor: CLIENT(s.story.clientId),
    });
    expect(first.ok).to.equal(true);
    const again = await s.mod.disputes!.open({
      lineId,
      reason: 'Ik herken dit niet.',
      actor: CLIENT(s.story.clientId),
    });
    expect(again.ok ? 'opened' : [again.code, again.message]).to.deep.equal([
      'ALREADY_DISPUTED',
      'Tegen deze regel is al bezwaar gemaakt.',
    ]);
    // another line of the same client, after its window (the last day is 16 June 2013)
    await bill('dutch');
    s.f.clock.set('2013-06-20T10:00:00Z');
    const late = await s.mod.disputes!.open({
      lineId,
      reason: 'Ik herken dit niet.',
      actor: CLIENT(s.story.clientId),
    });
    expect(late.ok ? 'opened' : [late.code, plain(late.message)]).to.deep.equal([
      'WINDOW_CLOSED',
      'De termijn om bezwaar te maken tegen deze regel liep tot en met 16 juni 2013; een bezwaar daarna kunnen we niet aanvaarden.',
    ]);
    const admin = await s.mod.disputes!.open({ lineId, reason: 'client phoned', actor: ADMIN });
    expect(admin.ok ? 'opened' : [admin.code, plain(admin.message)]).to.deep.equal([
      'WINDOW_CLOSED',
      'the window closed on 16 June 2013; an admin can still open a dispute with an override reason',
    ]);
  });
});

/**
 * A line billed with an upgrade credit, re-rated at the agreed rate: the credit is taken again from
 * the new amount, and the line's text names the new credit. Billed: 1 000 GB × €0.50 = €500.00, less
 * 40 % credited on the upgrade (€200.00) = €300.00; at €0.35: €350.00, less 40 % (€140.00) = €210.00.
 */
describe('the text of an adjusted line billed with an upgrade credit', () => {
  const billed =
    'Bandwidth overusage 1 – 31 May 2013: 6,000.00 GB used, 5,000.00 GB included, 1,000.00 GB × €0.50 = €500.00, less 40 % credited on your upgrade (€200.00) (dispute by 15 June 2013) [OU-123]';
  const d: DisputeRecord = {
    id: 7,
    lineId: 3,
    clientId: 12,
    serviceId: 34,
    state: 'open',
    resolvingTo: 'adjusted',
    reason: 'a one-off backup',
    openedBy: { type: 'client', id: '12' },
    overrideReason: null,
    openedAt: DateTime.fromISO('2013-06-05T10:00:00Z'),
    holdState: 'held',
    originalInvoiceId: 100,
    originalItemId: 200,
    heldInvoiceId: 101,
    heldItemId: 201,
    amountBeforeMinor: 30000n,
    amountAfterMinor: 21000n,
    currency: 'EUR',
    resolution: {
      adjustment: { kind: 'precommit' },
      note: null,
      rerated: {
        from: '0.50',
        to: '0.35',
        fromMinor: '50000',
        toMinor: '35000',
        exact: true,
        upgrade: { percent: 40, fromMinor: '20000', toMinor: '14000' },
      },
    },
    voidedBy: null,
    resolvedBy: { type: 'admin', id: '1' },
    resolvedAt: null,
    newDueDate: '2013-07-15',
    settlement: null,
    creditNoteInvoiceId: null,
    creditedMinor: null,
    version: 3,
  };

  it('names the agreed rate, its €350.00 and the credit taken again, €140.00 (not the €200.00 billed)', () => {
    expect(decidedText(d, 'adjusted', billed, 21000n, 'en-GB')).to.equal(
      'Bandwidth overusage 1 – 31 May 2013: 6,000.00 GB used, 5,000.00 GB included, 1,000.00 GB × €0.35 (agreed rate) = €350.00, less 40 % credited on your upgrade (€140.00) (dispute by 15 June 2013) [OU-123]',
    );
  });
});
