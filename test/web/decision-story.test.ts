import { expect } from 'chai';
import request from 'supertest';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { ADMIN, ANN, buildWebStory, JAN, login, type WebStory, pageText } from '../support/web-story.js';

const textOf = pageText;

type Who = WebStory['ann'];

/** Everything that tells a client's money after a decision, read as the client, the admin and the panel see it. */
async function readEverywhere(s: WebStory, who: Who, disputeId: number) {
  const knex = s.f.knex;
  const invoices = [];
  for (const inv of await knex('tblinvoices')
    .where({ userid: who.clientId })
    .orderBy('id')
    .select('id', 'status', 'subtotal', 'total', 'notes')) {
    const items = await knex('tblinvoiceitems')
      .where({ invoiceid: inv.id })
      .orderBy('id')
      .select('description', 'amount');
    invoices.push({
      id: toNum(inv.id),
      status: String(inv.status),
      total: String(inv.total),
      notes: textOf(String(inv.notes ?? '')),
      items: items.map((i) => [String(i.amount), textOf(String(i.description))]),
    });
  }
  const credit = (await knex('tblclients').where({ id: who.clientId }).first('credit')).credit;
  const client = await login(s.app, who === s.ann ? ANN : JAN);
  const widgetHtml = (await client.agent.get('/index.php?m=overusage').expect(200)).text;
  const widget = textOf(widgetHtml);
  // the invoice the widget names for the line, and whether the client can open it
  const named = new RegExp(
    `data-line="${who.lineId}"[\\s\\S]*?<a href="viewinvoice\\.php\\?id=(\\d+)" class="ou-invoice">([^<]+)</a>`,
  ).exec(widgetHtml);
  const invoiceLink = named
    ? {
        id: Number(named[1]),
        text: named[2]!,
        status: (await client.agent.get(`/viewinvoice.php?id=${named[1]}`)).status,
      }
    : null;
  const originalPage = textOf(
    (await client.agent.get(`/viewinvoice.php?id=${who.invoiceId}`).expect(200)).text,
  );
  // the credit note a paid line's decision made, as the widget links it, and its page as the client opens it
  const note = new RegExp(
    `data-line="${who.lineId}"[\\s\\S]*?<a href="viewinvoice\\.php\\?id=(\\d+)" class="ou-credit-note">([^<]+)</a>`,
  ).exec(widgetHtml);
  const noteRes = note ? await client.agent.get(`/viewinvoice.php?id=${note[1]}`) : null;
  const creditNoteLink = note
    ? { id: Number(note[1]), text: note[2]!, status: noteRes!.status, page: textOf(noteRes!.text) }
    : null;
  const ctoken = s.token('client', who.clientId);
  const api = (path: string, token: string) =>
    request(s.app).get(`/overusage/api/v1${path}`).set('Authorization', `Bearer ${token}`).expect(200);
  const apiLine = (await api(`/client/lines/${who.lineId}`, ctoken)).body.line;
  const apiPeriods = (await api(`/client/services/${who.serviceId}/periods`, ctoken)).body.periods;
  const apiMay = apiPeriods.find((p: { start: string }) => p.start === '2013-05-01');
  const adminToken = s.token('admin', s.adminId);
  const apiAdminDispute = (await api(`/admin/disputes/${disputeId}`, adminToken)).body;
  const apiAdminMay = (await api(`/admin/services/${who.serviceId}/periods`, adminToken)).body.periods.find(
    (p: { start: string }) => p.start === '2013-05-01',
  );
  const csvRow = (await api(`/admin/lines.csv`, adminToken)).text
    .split('\r\n')
    .find((r: string) => r.startsWith(`${who.lineId},`))!;
  const admin = await login(s.app, ADMIN);
  const disputePage = textOf(
    (await admin.agent.get(`/admin/addonmodules.php?module=overusage&a=dispute&id=${disputeId}`).expect(200))
      .text,
  );
  const linePage = textOf(
    (await admin.agent.get(`/admin/addonmodules.php?module=overusage&a=line&id=${who.lineId}`).expect(200))
      .text,
  );
  const mails = await knex('tblemails').orderBy('id').select('userid', 'subject', 'message');
  // the last email about this line, to the client and to the admin
  const last = (userid: number) =>
    textOf(
      String(
        mails.filter((m) => toNum(m.userid) === userid && String(m.subject).includes(apiLine.ref)).at(-1)!
          .message,
      ),
    );
  return {
    invoices,
    credit: String(credit),
    widget,
    invoiceLink,
    creditNoteLink,
    originalPage,
    apiLine,
    apiMay,
    apiAdminDispute,
    apiAdminMay,
    csvRow,
    disputePage,
    linePage,
    toClient: last(who.clientId),
    toAdmin: last(0),
  };
}

/** Disputes both lines as the clients (over the API), then decides each on 10 June. */
async function decideBoth(s: WebStory, body: Record<string, unknown>, opts: { paid?: boolean } = {}) {
  const ids: Record<'ann' | 'jan', number> = { ann: 0, jan: 0 };
  for (const key of ['ann', 'jan'] as const) {
    const who = s[key];
    s.f.clock.set('2013-06-05T10:00:00Z');
    if (opts.paid)
      await s.f.panel.api.addInvoicePayment({
        invoiceId: who.invoiceId,
        transId: `pay-${key}`,
        gateway: 'banktransfer',
        date: '2013-06-03 10:00:00',
      });
    const ctoken = s.token('client', who.clientId);
    const opened = await request(s.app)
      .post(`/overusage/api/v1/client/lines/${who.lineId}/dispute`)
      .set('Authorization', `Bearer ${ctoken}`)
      .send({ reason: 'I cannot tell where this came from.' });
    expect(opened.status, opened.text).to.equal(201);
    ids[key] = opened.body.dispute.id;
    s.f.clock.set('2013-06-10T09:00:00Z');
    const res =
      body.to === 'withdrawn'
        ? await request(s.app)
            .post(`/overusage/api/v1/client/disputes/${ids[key]}/withdraw`)
            .set('Authorization', `Bearer ${ctoken}`)
            .send({})
        : await request(s.app)
            .post(`/overusage/api/v1/admin/disputes/${ids[key]}/resolve`)
            .set('Authorization', `Bearer ${s.token('admin', s.adminId)}`)
            .send(body);
    expect(res.status, res.text).to.equal(200);
  }
  return { ann: await readEverywhere(s, s.ann, ids.ann), jan: await readEverywhere(s, s.jan, ids.jan) };
}

const money = (amount: string) => ({ amount, currency: 'EUR' });
// in GB, the unit sold, 2 decimals: Ann 6 000 − 5 000 = 1 000 GB × €0.50 = €500.00; Jan 5 500 − 5 000 = 500 GB × €0.50 = €250.00
const ANN_TEXT =
  'Bandwidth overusage 1 – 31 May 2013: 6,000.00 GB used, 5,000.00 GB included, 1,000.00 GB × €0.50 = €500.00 (dispute by 16 June 2013)';
const JAN_TEXT =
  'Overschrijding dataverkeer 1–31 mei 2013: 5.500,00 GB gebruikt, 5.000,00 GB inbegrepen, 500,00 GB × € 0,50 = € 250,00 (bezwaar uiterlijk 16 juni 2013)';

const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * One test per decision: after it, the invoice (lines, totals), the client's widget and past
 * periods, the admin's dispute and line pages, the JSON API, the lines CSV and both emails say
 * the same money, for Ann (English) and Jan (Dutch).
 *
 * The story (test/support/web-story.ts): a 5 TB plan at €0.50 per GB over, €0.35 agreed in advance.
 * Ann used 6 TB in May: 1,000 GB over × €0.50 = €500.00, on her renewal of 2 June with her VPS at
 * €19.95 (519.95 in all). Jan used 5.5 TB: 500 GB × €0.50 = €250.00 beside his €24.50 (274.50).
 * Each disputes on 5 June (the line moves to a draft of its own, the renewal keeps 19.95 / 24.50);
 * the decision comes on 10 June, so a line still due is due 14 days later: 24 June 2013.
 */
describeEachEngine('the money after each dispute decision, everywhere it is told', ({ db }) => {
  let s: WebStory;
  beforeEach(async function () {
    this.timeout(30_000);
    s = await buildWebStory(db().knex);
  });

  const decide = (body: Record<string, unknown>, opts: { paid?: boolean } = {}) => decideBoth(s, body, opts);

  /** What every place must say of a line that bills `amount` now, published on the held invoice. */
  function expectDue(
    r: Awaited<ReturnType<typeof readEverywhere>>,
    o: { hosting: string; amount: string; text: string; words: RegExp; past: string; admin: string },
  ) {
    const [renewal, held] = r.invoices;
    expect(renewal).to.deep.include({ status: 'Unpaid', total: o.hosting });
    expect(renewal!.items.map((i) => i[0])).to.deep.equal([o.hosting]);
    expect(held!.status).to.equal('Unpaid');
    expect(held!.total).to.equal(o.amount);
    expect(held!.items).to.have.length(1);
    expect(held!.items[0]![0]).to.equal(o.amount);
    expect(held!.items[0]![1]).to.match(new RegExp(`^${esc(o.text)} \\[OU-[0-9A-F]+\\]$`));
    expect(r.widget).to.match(o.words);
    expect(r.widget).to.include(o.past);
    expect(r.apiLine.amount).to.deep.equal(money(o.amount));
    expect(textOf(r.apiLine.description)).to.equal(held!.items[0]![1]);
    expect(r.apiLine.invoiceId).to.equal(held!.id);
    expect(r.apiMay.charge.billed).to.deep.equal(money(o.amount));
    expect(r.apiAdminMay.charge.billed).to.deep.equal(money(o.amount));
    expect(r.apiAdminDispute.line.amount).to.deep.equal(money(o.amount));
    expect(r.csvRow).to.include(`,${o.amount},EUR,`);
    expect(r.disputePage).to.include(o.admin);
    expect(r.linePage).to.include(o.admin);
    expect(r.credit).to.equal('0.00');
    // published, the held invoice is the client's to open, and the widget links it
    const nl = o.hosting === '24.50';
    expect(r.invoiceLink).to.deep.equal({
      id: held!.id,
      text: `${nl ? 'factuur' : 'invoice'} #${held!.id}`,
      status: 200,
    });
    // the invoice the line left says where it is billed now, under its notes
    expect(r.originalPage).to.match(
      nl ? /Opmerkingen Regel overschrijding \[OU-[0-9A-F]+\]: / : /Notes Overusage line \[OU-[0-9A-F]+\]: /,
    );
    expect(r.originalPage).to.include(
      nl ? `gefactureerd op factuur #${held!.id}.` : `billed on invoice #${held!.id}.`,
    );
  }
  const MOVED_EN =
    /Notes Overusage line \[OU-[0-9A-F]+\] \(€500\.00\) is on hold while your dispute is decided: it is not part of this invoice\./;
  const MOVED_NL =
    /Opmerkingen Regel overschrijding \[OU-[0-9A-F]+\] \(€ 250,00\) is opgeschort tot over uw bezwaar is beslist: ze hoort niet bij deze factuur\./;

  it('while the dispute is open: the widget names the invoice the line was held back from (the draft stays hidden), which says where the line went', async () => {
    for (const [who, key] of [
      [s.ann, 'ann'],
      [s.jan, 'jan'],
    ] as const) {
      const opened = await request(s.app)
        .post(`/overusage/api/v1/client/lines/${who.lineId}/dispute`)
        .set('Authorization', `Bearer ${s.token('client', who.clientId)}`)
        .send({ reason: 'I cannot tell where this came from.' });
      expect(opened.status, key).to.equal(201);
      const r = await readEverywhere(s, who, opened.body.dispute.id);
      const [renewal, draft] = r.invoices;
      expect(draft!.status).to.equal('Draft');
      // the renewal keeps the VPS only (19.95 / 24.50); the line (500.00 / 250.00) waits on the draft
      expect(renewal).to.deep.include({ status: 'Unpaid', total: key === 'ann' ? '19.95' : '24.50' });
      expect(draft!.total).to.equal(key === 'ann' ? '500.00' : '250.00');
      expect(r.invoiceLink).to.deep.equal({
        id: renewal!.id,
        text:
          key === 'ann' ? `held back from invoice #${renewal!.id}` : `opgeschort van factuur #${renewal!.id}`,
        status: 200,
      });
      expect(r.widget).not.to.match(new RegExp(`(invoice|factuur) #${draft!.id}\\b`));
      expect(r.originalPage).to.match(key === 'ann' ? MOVED_EN : MOVED_NL);
      // the client's API names the same invoice, and not the draft
      expect(r.apiLine.invoiceId).to.equal(renewal!.id);
      expect(opened.body.dispute.heldInvoiceId).to.equal(null);
      expect(opened.body.dispute.originalInvoiceId).to.equal(renewal!.id);
      const { agent } = await login(s.app, key === 'ann' ? ANN : JAN);
      await agent.get(`/viewinvoice.php?id=${draft!.id}`).expect(404);
    }
  });

  it('uphold: €500.00 / €250.00 stand, published with the old text, due 24 June; every page says so', async () => {
    const r = await decide({ to: 'upheld' });
    expectDue(r.ann, {
      hosting: '19.95',
      amount: '500.00',
      text: ANN_TEXT,
      words: /€500\.00 upheld after dispute/,
      past: '1 – 31 May 2013 6,000.00 GB 5,000.00 GB 1,000.00 GB Billed: €500.00',
      admin: 'Outcome: billed: €500.00',
    });
    expect(r.ann.widget).to.include('Upheld on 10 June 2013; due on 24 June 2013.');
    expect(r.ann.apiLine.state).to.equal('upheld');
    expect(r.ann.toClient).to.include('After review the line OU-');
    expect(r.ann.toClient).to.include(' stands at €500.00, due on 24 June 2013.');
    expect(r.ann.toAdmin).to.include(' stands at €500.00, due on 24 June 2013.');
    expectDue(r.jan, {
      hosting: '24.50',
      amount: '250.00',
      text: JAN_TEXT,
      words: /€ 250,00 gehandhaafd na betwisting/,
      past: '1–31 mei 2013 5.500,00 GB 5.000,00 GB 500,00 GB Gefactureerd: € 250,00',
      admin: 'Outcome: billed: €250.00',
    });
    expect(r.jan.widget).to.include('Gehandhaafd op 10 juni 2013; te betalen uiterlijk 24 juni 2013.');
    expect(r.jan.toClient).to.include('blijft de regel OU-');
    expect(r.jan.toClient).to.include('staan op € 250,00, te betalen uiterlijk 24 juni 2013.');
    expect(r.jan.toAdmin).to.match(
      /stands at €250\.00, due on 24 June 2013\. .*The client was told \(in Dutch\): /,
    );
  });

  it('adjust to the agreed rate: 1,000 GB × €0.35 = €350.00 and 500 GB × €0.35 = €175.00, the rate named as agreed everywhere', async () => {
    const r = await decide({ to: 'adjusted', adjustment: { kind: 'precommit' } });
    // 1 000.00 × €0.35 = €350.00: the rate and the amount it gives both change
    const annText = ANN_TEXT.replace('× €0.50 = €500.00', '× €0.35 (agreed rate) = €350.00');
    expectDue(r.ann, {
      hosting: '19.95',
      amount: '350.00',
      text: annText,
      words: /€350\.00 €500\.00 adjusted after dispute/,
      past: 'Billed: €350.00 (adjusted after dispute)',
      admin: 'Outcome: rated €500.00; after the dispute: adjusted to €350.00',
    });
    expect(r.ann.widget).to.include('Adjusted on 10 June 2013 from €500.00 to €350.00; due on 24 June 2013.');
    expect(r.ann.widget).not.to.include('× €0.50');
    expect(r.ann.toClient).to.include('is reduced from €500.00 to €350.00, due on 24 June 2013.');
    expect(r.ann.toClient).to.include(annText);
    expect(r.ann.toAdmin).to.include('is reduced from €500.00 to €350.00, due on 24 June 2013.');
    // 500,00 × € 0,35 = € 175,00
    const janText = JAN_TEXT.replace('× € 0,50 = € 250,00', '× € 0,35 (afgesproken tarief) = € 175,00');
    expectDue(r.jan, {
      hosting: '24.50',
      amount: '175.00',
      text: janText,
      words: /€ 175,00 € 250,00 aangepast na betwisting/,
      past: 'Gefactureerd: € 175,00 (aangepast na betwisting)',
      admin: 'Outcome: rated €250.00; after the dispute: adjusted to €175.00',
    });
    expect(r.jan.toClient).to.include(
      'verlaagd van € 250,00 naar € 175,00, te betalen uiterlijk 24 juni 2013.',
    );
    expect(r.jan.toClient).to.include(janText);
    expect(r.jan.toAdmin).to.include('is reduced from €250.00 to €175.00, due on 24 June 2013.');
  });

  it('a share of 40 %: €500.00 × 0.40 = €200.00 and €250.00 × 0.40 = €100.00, "reduced to" on the line', async () => {
    const r = await decide({ to: 'adjusted', adjustment: { kind: 'share', percent: '40' } });
    const annText = `${ANN_TEXT} — reduced to €200.00 after review of your dispute`;
    expectDue(r.ann, {
      hosting: '19.95',
      amount: '200.00',
      text: annText,
      words: /€200\.00 €500\.00 adjusted after dispute/,
      past: 'Billed: €200.00 (adjusted after dispute)',
      admin: 'Outcome: rated €500.00; after the dispute: adjusted to €200.00',
    });
    expect(r.ann.toClient).to.include('is reduced from €500.00 to €200.00, due on 24 June 2013.');
    expect(r.ann.toClient).to.include(annText);
    const janText = `${JAN_TEXT} — verlaagd naar € 100,00 na beoordeling van uw bezwaar`;
    expectDue(r.jan, {
      hosting: '24.50',
      amount: '100.00',
      text: janText,
      words: /€ 100,00 € 250,00 aangepast na betwisting/,
      past: 'Gefactureerd: € 100,00 (aangepast na betwisting)',
      admin: 'Outcome: rated €250.00; after the dispute: adjusted to €100.00',
    });
    expect(r.jan.widget).to.include(
      'Aangepast op 10 juni 2013 van € 250,00 naar € 100,00; te betalen uiterlijk 24 juni 2013.',
    );
    expect(r.jan.toClient).to.include(
      'verlaagd van € 250,00 naar € 100,00, te betalen uiterlijk 24 juni 2013.',
    );
    expect(r.jan.toClient).to.include(janText);
    expect(r.jan.toAdmin).to.include('is reduced from €250.00 to €100.00, due on 24 June 2013.');
    expect(r.ann.toAdmin).to.include('is reduced from €500.00 to €200.00, due on 24 June 2013.');
    expect(r.ann.widget).to.include('Adjusted on 10 June 2013 from €500.00 to €200.00; due on 24 June 2013.');
  });

  it('an amount set by hand: €120.00 for both, "reduced to €120.00" on the line', async () => {
    const r = await decide({ to: 'adjusted', adjustment: { kind: 'amount', amount: '120.00' } });
    const annText = `${ANN_TEXT} — reduced to €120.00 after review of your dispute`;
    expectDue(r.ann, {
      hosting: '19.95',
      amount: '120.00',
      text: annText,
      words: /€120\.00 €500\.00 adjusted after dispute/,
      past: 'Billed: €120.00 (adjusted after dispute)',
      admin: 'Outcome: rated €500.00; after the dispute: adjusted to €120.00',
    });
    expect(r.ann.toClient).to.include('is reduced from €500.00 to €120.00, due on 24 June 2013.');
    const janText = `${JAN_TEXT} — verlaagd naar € 120,00 na beoordeling van uw bezwaar`;
    expectDue(r.jan, {
      hosting: '24.50',
      amount: '120.00',
      text: janText,
      words: /€ 120,00 € 250,00 aangepast na betwisting/,
      past: 'Gefactureerd: € 120,00 (aangepast na betwisting)',
      admin: 'Outcome: rated €250.00; after the dispute: adjusted to €120.00',
    });
    expect(r.jan.toClient).to.include(
      'verlaagd van € 250,00 naar € 120,00, te betalen uiterlijk 24 juni 2013.',
    );
    expect(r.jan.toClient).to.include(janText);
    expect(r.ann.toClient).to.include(annText);
    // the admin is told in English, whatever the client's language
    expect(r.ann.toAdmin).to.include('is reduced from €500.00 to €120.00, due on 24 June 2013.');
    expect(r.jan.toAdmin).to.include('is reduced from €250.00 to €120.00, due on 24 June 2013.');
    expect(r.ann.widget).to.include('Adjusted on 10 June 2013 from €500.00 to €120.00; due on 24 June 2013.');
    expect(r.jan.widget).to.include(
      'Aangepast op 10 juni 2013 van € 250,00 naar € 120,00; te betalen uiterlijk 24 juni 2013.',
    );
  });

  it('withdrawn by the client: €500.00 / €250.00 due on 24 June, told as withdrawn everywhere', async () => {
    const r = await decide({ to: 'withdrawn' });
    expectDue(r.ann, {
      hosting: '19.95',
      amount: '500.00',
      text: ANN_TEXT,
      words: /€500\.00 dispute withdrawn, on the invoice/,
      past: 'Billed: €500.00',
      admin: 'Outcome: billed: €500.00',
    });
    expect(r.ann.widget).to.include('You withdrew the dispute on 10 June 2013; due on 24 June 2013.');
    expect(r.ann.toClient).to.include('You withdrew your dispute of OU-');
    expect(r.ann.toClient).to.include('the line (€500.00) is due on 24 June 2013.');
    // the admin is told in the third person, not "you withdrew"
    expect(r.ann.toAdmin).to.match(
      /The client withdrew the dispute of OU-[0-9A-F]+; the line \(€500\.00\) is due on 24 June 2013\./,
    );
    expectDue(r.jan, {
      hosting: '24.50',
      amount: '250.00',
      text: JAN_TEXT,
      words: /€ 250,00 bezwaar ingetrokken, op de factuur/,
      past: 'Gefactureerd: € 250,00',
      admin: 'Outcome: billed: €250.00',
    });
    expect(r.jan.widget).to.include(
      'U hebt het bezwaar ingetrokken op 10 juni 2013; te betalen uiterlijk 24 juni 2013.',
    );
    expect(r.jan.toClient).to.match(
      /U hebt uw bezwaar tegen OU-[0-9A-F]+ ingetrokken; de regel \(€ 250,00\) is te betalen uiterlijk 24 juni 2013\./,
    );
    expect(r.ann.apiLine.state).to.equal('withdrawn');
    expect(r.jan.apiAdminDispute.dispute.state).to.equal('withdrawn');
    expect(r.jan.toAdmin).to.match(
      /The client withdrew the dispute of OU-[0-9A-F]+; the line \(€250\.00\) is due on 24 June 2013\./,
    );
  });
});

type Everywhere = Awaited<ReturnType<typeof readEverywhere>>;

/**
 * Waivers, each one story decided once (in `before`) and read everywhere; each `it` asserts one
 * place. Ann (English) €500.00, Jan (Dutch) €250.00, as above; decided on 10 June.
 */
describeEachEngine('a waived line, everywhere it is told', ({ db }) => {
  const WHO = {
    ann: {
      hosting: '19.95',
      before: '€500.00',
      text: ANN_TEXT,
      waived: 'waived after review of your dispute',
      link: (id: number) => `was on invoice #${id}`,
      owed: 'waived after your dispute (was €500.00); you owe nothing for it.',
    },
    jan: {
      hosting: '24.50',
      before: '€ 250,00',
      text: JAN_TEXT,
      waived: 'kwijtgescholden na beoordeling van uw bezwaar',
      link: (id: number) => `stond op factuur #${id}`,
      owed: 'kwijtgescholden na uw bezwaar (was € 250,00); u bent er niets voor verschuldigd.',
    },
  } as const;

  describe('an unpaid line waived: the held draft is cancelled at €0.00 and says "waived"; nothing owed', () => {
    let r: { ann: Everywhere; jan: Everywhere };
    before(async function () {
      this.timeout(60_000);
      r = await decideBoth(await buildWebStory(db().knex), { to: 'waived' });
    });

    for (const key of ['ann', 'jan'] as const) {
      const w = WHO[key];
      it(`${key}: the renewal keeps the VPS (${w.hosting}); the draft is cancelled at 0.00 with the waived text, no "on hold"`, () => {
        const [renewal, held] = r[key].invoices;
        expect(renewal).to.deep.include({ status: 'Unpaid', total: w.hosting });
        expect(held).to.deep.include({ status: 'Cancelled', total: '0.00' });
        expect(held!.items[0]![0]).to.equal('0.00');
        expect(held!.items[0]![1]).to.match(
          new RegExp(`^${esc(w.text)} — ${esc(w.waived)} \\(${esc(w.before)}\\) \\[OU-[0-9A-F]+\\]$`),
        );
        expect(held!.items[0]![1]).not.to.match(/on hold|opgeschort/);
      });

      it(`${key}: the API's line, periods and dispute and the lines CSV bill €0.00, the text as on the draft`, () => {
        const x = r[key];
        expect(x.apiLine).to.deep.include({ state: 'waived', amount: money('0.00') });
        expect(textOf(x.apiLine.description)).to.equal(x.invoices[1]!.items[0]![1]);
        expect(x.apiMay.charge.billed).to.deep.equal(money('0.00'));
        expect(x.apiAdminMay.charge.billed).to.deep.equal(money('0.00'));
        expect(x.apiAdminDispute.dispute.state).to.equal('waived');
        expect(x.apiAdminDispute.line.amount).to.deep.equal(money('0.00'));
        expect(x.csvRow).to.include(',0.00,EUR,');
      });

      it(`${key}: nothing is credited; the widget names the invoice the line was on, which says nothing is owed`, () => {
        const x = r[key];
        const renewal = x.invoices[0]!;
        expect(x.credit).to.equal('0.00');
        // the cancelled draft was never the client's
        expect(x.invoiceLink).to.deep.equal({ id: renewal.id, text: w.link(renewal.id), status: 200 });
        expect(x.originalPage).to.include(w.owed);
      });
    }

    it("Ann's widget says waived, €500.00 no longer owed, and May's row says waived", () => {
      expect(r.ann.widget).to.include('Waived on 10 June 2013: you owe nothing for it (was €500.00).');
      expect(r.ann.widget).to.include('1 – 31 May 2013 6,000.00 GB 5,000.00 GB 1,000.00 GB waived');
    });

    it("the admin's dispute and line pages: rated €500.00 / €250.00, waived, €0.00 billed", () => {
      expect(r.ann.disputePage).to.include('Outcome: rated €500.00; after the dispute: waived, €0.00 billed');
      expect(r.ann.linePage).to.include('Outcome: rated €500.00; after the dispute: waived, €0.00 billed');
      expect(r.jan.disputePage).to.include('Outcome: rated €250.00; after the dispute: waived, €0.00 billed');
      expect(r.jan.linePage).to.include('Outcome: rated €250.00; after the dispute: waived, €0.00 billed');
    });

    it('the emails tell Ann and the admin that €500.00 is waived', () => {
      expect(r.ann.toClient).to.include('(€500.00) is waived: you owe nothing for it.');
      expect(r.ann.toAdmin).to.include('(€500.00) is waived: the client owes nothing for it.');
    });

    it("Jan's widget says kwijtgescholden, € 250,00 no longer owed, and May's row too", () => {
      expect(r.jan.widget).to.include(
        'Kwijtgescholden op 10 juni 2013: u hoeft hiervoor niets te betalen (was € 250,00).',
      );
      expect(r.jan.widget).to.include('1–31 mei 2013 5.500,00 GB 5.000,00 GB 500,00 GB kwijtgescholden');
    });

    it('the emails tell Jan in Dutch and the admin in English that €250.00 is waived', () => {
      expect(r.jan.toClient).to.match(
        /Na onderzoek schelden we de regel OU-[0-9A-F]+ \(€ 250,00\) kwijt: u hoeft hiervoor niets te betalen\./,
      );
      expect(r.jan.toAdmin).to.include('(€250.00) is waived: the client owes nothing for it.');
    });
  });

  describe('a paid line with 21 % VAT waived: credit notes of −€605.00 / −€302.50, credited, every page says so', () => {
    let s: WebStory;
    let r: { ann: Everywhere; jan: Everywhere };
    before(async function () {
      this.timeout(60_000);
      // the story again, with VAT at 21 % on the overusage (the VPS is not taxed)
      s = await buildWebStory(db().knex, { vat: '21.000' });
      r = await decideBoth(s, { to: 'waived', settlement: 'credit' }, { paid: true });
    });
    const PAID = {
      // Ann: 19.95 + 500.00 + 21 % of 500.00 (105.00) = 624.95; back 500.00 + 105.00 = 605.00
      ann: {
        total: '624.95',
        net: '-500.00',
        vat: 'Sub Total -€500.00 Tax 21.00% -€105.00 Total -€605.00',
        back: '605.00',
        nl: false,
      },
      // Jan: 24.50 + 250.00 + 21 % of 250.00 (52.50) = 327.00; back 250.00 + 52.50 = 302.50
      jan: {
        total: '327.00',
        net: '-250.00',
        vat: 'Subtotaal € -250,00 Btw 21.00% € -52,50 Totaal € -302,50',
        back: '302.50',
        nl: true,
      },
    } as const;

    for (const key of ['ann', 'jan'] as const) {
      const p = PAID[key];
      it(`${key}: paid in full, nothing held; the credit note is an invoice of its own, paid, at −${p.back}`, () => {
        const x = r[key];
        expect(x.invoices).to.have.length(2);
        const [paid, note] = x.invoices;
        expect(paid).to.deep.include({ status: 'Paid', total: p.total });
        expect(note).to.deep.include({ status: 'Paid', total: `-${p.back}` });
        expect(note!.items.map((i) => i[0])).to.deep.equal([p.net]);
      });

      it(`${key}: the credit note's line names the invoice, the line and its amount waived`, () => {
        const x = r[key];
        const [paid, note] = x.invoices;
        const ref = x.apiLine.ref;
        expect(note!.items[0]![1]).to.equal(
          p.nl
            ? `Creditnota CR-${ref} bij factuur #${paid!.id}: regel overschrijding ${ref} (€ 250,00) kwijtgescholden na onderzoek van uw bezwaar`
            : `Credit note CR-${ref} for invoice #${paid!.id}: overusage line ${ref} (€500.00) waived after review of your dispute`,
        );
      });

      it(`${key}: the account holds ${p.back}; the API and the CSV bill €0.00 and name the credit note`, () => {
        const x = r[key];
        const note = x.invoices[1]!;
        expect(x.credit).to.equal(p.back);
        expect(x.apiLine).to.deep.include({ state: 'waived', amount: money('0.00') });
        expect(x.apiLine.dispute).to.deep.include({ creditNoteInvoiceId: note.id, credited: money(p.back) });
        expect(x.apiAdminDispute.dispute).to.deep.include({
          settlement: 'credited',
          creditNoteInvoiceId: note.id,
          credited: money(p.back),
        });
        expect(x.apiMay.charge.billed).to.deep.equal(money('0.00'));
        expect(x.apiAdminMay.charge.billed).to.deep.equal(money('0.00'));
        expect(x.apiAdminDispute.line.amount).to.deep.equal(money('0.00'));
        expect(x.csvRow).to.include(',0.00,EUR,');
      });

      it(`${key}: the widget links the paid invoice and the credit note, which the client opens: the line and its VAT reversed`, () => {
        const x = r[key];
        const [paid, note] = x.invoices;
        expect(x.invoiceLink).to.deep.equal({
          id: paid!.id,
          text: `${p.nl ? 'factuur' : 'invoice'} #${paid!.id}`,
          status: 200,
        });
        expect(x.creditNoteLink).to.deep.include({
          id: note!.id,
          text: `${p.nl ? 'creditnota' : 'credit note'} #${note!.id}`,
          status: 200,
        });
        expect(x.creditNoteLink!.page).to.include(note!.items[0]![1]);
        expect(x.creditNoteLink!.page).to.include(p.vat);
      });
    }

    it('the paid invoices the lines stay on say what came back, and where', () => {
      const [annPaid, annNote] = r.ann.invoices;
      const janNote = r.jan.invoices[1]!;
      expect(annPaid!.id).to.equal(s.ann.invoiceId);
      expect(r.ann.originalPage).to.match(
        new RegExp(
          `Notes Overusage line \\[OU-[0-9A-F]+\\]: waived after your dispute \\(was €500\\.00\\); you owe nothing for it; we credited €605\\.00 to your account \\(see credit note #${annNote!.id}\\)\\.`,
        ),
      );
      expect(r.jan.originalPage).to.match(
        new RegExp(
          `Opmerkingen Regel overschrijding \\[OU-[0-9A-F]+\\]: kwijtgescholden na uw bezwaar \\(was € 250,00\\); u bent er niets voor verschuldigd; we hebben € 302,50 op uw tegoed gezet \\(zie creditnota #${janNote.id}\\)\\.`,
        ),
      );
    });

    it("Ann's widget: €0.00 now, €605.00 credited and left, May waived", () => {
      const annNote = r.ann.invoices[1]!;
      expect(r.ann.widget).to.include(
        `Decided on 10 June 2013: the line now bills €0.00; you had paid it already, so we credited €605.00 to your account. · credit note #${annNote.id}`,
      );
      expect(r.ann.widget).to.include('€605.00 credited to your account · €605.00 left');
      expect(r.ann.widget).to.include('1 – 31 May 2013 6,000.00 GB 5,000.00 GB 1,000.00 GB waived');
    });

    it("Jan's widget: € 0,00 now, € 302,50 credited and left, May kwijtgescholden", () => {
      const janNote = r.jan.invoices[1]!;
      expect(r.jan.widget).to.include(
        `Besloten op 10 juni 2013: de regel bedraagt nu € 0,00; u had hem al betaald, dus hebben we € 302,50 op uw tegoed gezet. · creditnota #${janNote.id}`,
      );
      expect(r.jan.widget).to.include('€ 302,50 op uw tegoed gezet · nog € 302,50 over');
      expect(r.jan.widget).to.include('1–31 mei 2013 5.500,00 GB 5.000,00 GB 500,00 GB kwijtgescholden');
    });

    it("the admin's dispute and line pages: waived, €0.00 billed, €605.00 / €302.50 credited", () => {
      for (const page of [r.ann.disputePage, r.ann.linePage])
        expect(page).to.include(
          'Outcome: rated €500.00; after the dispute: waived, €0.00 billed; €605.00 credited to the account',
        );
      for (const page of [r.jan.disputePage, r.jan.linePage])
        expect(page).to.include(
          'Outcome: rated €250.00; after the dispute: waived, €0.00 billed; €302.50 credited to the account',
        );
    });

    it('the emails tell each client, in their language, and the admin what was credited', () => {
      expect(r.ann.toClient).to.include(
        'is waived; you had paid it already, so we credited €605.00 to your account.',
      );
      expect(r.ann.toAdmin).to.include(
        'is waived; the client had paid it already, so €605.00 was credited to their account.',
      );
      expect(r.jan.toClient).to.include('u had hem al betaald, dus hebben we € 302,50 op uw tegoed gezet.');
      expect(r.jan.toAdmin).to.include(
        'is waived; the client had paid it already, so €302.50 was credited to their account.',
      );
    });
  });
});
