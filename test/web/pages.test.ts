import fs from 'node:fs';
import { expect } from 'chai';
import request from 'supertest';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import {
  ADMIN,
  ANN,
  buildWebStory,
  JAN,
  login,
  tokenOf,
  type WebStory,
  pageText,
} from '../support/web-story.js';

const textOf = pageText;

/**
 * The widget and the tab as the reference panel embeds them: the client page (index.php?m=overusage)
 * through the client's session, the home panel and the product details block through the panel's
 * hooks, and the admin tab (addonmodules.php?module=overusage) through the admin's session.
 */
describeEachEngine('the client widget in the panel', ({ db }) => {
  let s: WebStory;
  beforeEach(async function () {
    this.timeout(30_000);
    s = await buildWebStory(db().knex);
  });

  describe("Ann's page this period", () => {
    let page: request.Response;
    let t = '';
    beforeEach(async () => {
      const { agent } = await login(s.app, ANN);
      page = await agent.get('/index.php?m=overusage').expect(200);
      t = textOf(page.text);
    });

    it('names her service by its hostname and product', () => {
      expect(t).to.include('vps1.example.net (VPS 5 TB)');
    });

    it('says the period, how far it is measured, and what is used of the allowance', () => {
      expect(t).to.include(
        'This period: 1 – 30 June 2013 (still running). Measured up to and including 3 June 2013.',
      );
      // 450 GB of 5 000 GB = 9 %, in the unit sold (GB) as her invoice line says it
      expect(t).to.include('450.00 GB of 5,000.00 GB (9.0 %)');
    });

    it('names the marks at which notices are sent', () => {
      expect(t).to.include('Notices are sent at 80 %, 90 %, 100 %.');
    });

    it('projects the period at this pace', () => {
      // 450 GB in 3 days (1–3 June) = 150 GB a day; × 30 days = 4 500 GB
      expect(t).to.include(
        'At this pace: about 4,500.00 GB by 30 June 2013; the allowance lasts the period; no overusage expected.',
      );
    });

    it('draws the 30 days of June, the 2nd and 3rd as estimates (the read of the 2nd failed)', () => {
      const kinds = [...page.text.matchAll(/<rect class="ou-bar ou-bar-(\w+)"/g)].map((m) => m[1]);
      expect(kinds).to.have.length(30);
      expect(kinds.slice(0, 3)).to.deep.equal(['measured', 'estimated', 'estimated']);
    });

    it('stretches the chart to the card without shrinking its text (no viewBox, bars placed in %)', () => {
      expect(page.text).to.match(
        /<svg class="ou-chart-plot" height="220" role="img" aria-labelledby="ou-chart-\d+-d"/,
      );
      expect(page.text).to.not.match(/<svg[^>]*viewBox="0 0 720/);
    });

    it('tables the days measured so far, each measured or estimated', () => {
      expect(
        [...page.text.matchAll(/<tr class="ou-row-(\w+)" data-date="([\d-]+)"/g)].map((m) => [m[2], m[1]]),
      ).to.deep.equal([
        ['2013-06-01', 'measured'],
        ['2013-06-02', 'estimated'],
        ['2013-06-03', 'estimated'],
      ]);
    });

    it('shows her line with its amount, the deadline to dispute it and the days left', () => {
      expect(t).to.include('€500.00 on the invoice');
      expect(t).to.include('Dispute by: 16 June 2013 · 11 days left');
    });

    it("carries the dispute form with the panel's CSRF token, and the line's figures behind a read-only token", () => {
      expect(page.text).to.match(
        /<form method="post" action="index\.php\?m=overusage&amp;service=\d+" class="ou-dispute-form"><input type="hidden" name="token"/,
      );
      expect(page.text).to.match(
        /href="\/overusage\/api\/v1\/client\/lines\/\d+\/days\.csv\?token=ou2\.c\.\d+\.\d+\.\d+\.r\./,
      );
    });

    it("downloads the period's days as CSV from the page's link", async () => {
      const csv = /href="(\/overusage\/api\/v1\/client\/services\/\d+\/periods\/\d+\/days\.csv\?token=[^"]+)"/
        .exec(page.text)![1]!
        .replace(/&amp;/g, '&');
      const download = await request(s.app).get(csv).expect(200);
      expect(download.text.split('\r\n')[0]).to.equal('date,bytes,estimated_bytes,measured,note');
    });

    it('lists her past periods with what each used and was billed', () => {
      // the past period in GB, as its invoice line: 6 000 used, 5 000 included, 1 000 over
      expect(t).to.include('1 – 31 May 2013 6,000.00 GB 5,000.00 GB 1,000.00 GB Billed: €500.00');
    });

    it("takes the stylesheet and the script from the module's router, same origin, and no inline script", () => {
      expect(page.text).to.include('<link rel="stylesheet" href="/overusage/assets/overusage.css">');
      expect(page.text).to.include('<script src="/overusage/assets/overusage.js" defer></script>');
      expect(page.text).not.to.match(/<script>(?!<\/script>)/);
    });
  });

  it('shows a May chart on request: the days before metering began as estimates', async () => {
    const { agent } = await login(s.app, ANN);
    const may = toNum(
      (
        await db()
          .knex('mod_overusage_periods')
          .where({ service_id: s.ann.serviceId, start_date: '2013-05-01' })
          .first('id')
      ).id,
    );
    const page = await agent
      .get(`/index.php?m=overusage&service=${s.ann.serviceId}&period=${may}`)
      .expect(200);
    expect(textOf(page.text)).to.include('Traffic per day, 1 – 31 May 2013');
    const kinds = [...page.text.matchAll(/<rect class="ou-bar ou-bar-(\w+)"/g)].map((m) => m[1]);
    expect(kinds.filter((k) => k === 'estimated')).to.have.length(29);
    expect(kinds.slice(29)).to.deep.equal(['measured', 'measured']);
    expect(page.text).to.include('Back to this period');
  });

  it('speaks Dutch to Jan, with Dutch numbers and dates', async () => {
    const { agent } = await login(s.app, JAN);
    const t = textOf((await agent.get('/index.php?m=overusage').expect(200)).text);
    expect(t).to.include('Deze periode: 1–30 juni 2013 (lopend). Gemeten tot en met 3 juni 2013.');
    // 270 GB of 5 000 GB = 5.4 %
    expect(t).to.include('270,00 GB van 5.000,00 GB (5,4 %)');
    expect(t).to.include('Bezwaar uiterlijk: 16 juni 2013 · nog 11 dagen');
    expect(t).to.include('€ 250,00 op de factuur');
    expect(t).to.include('Bezwaar maken tegen deze regel');
  });

  it('lets Ann dispute her line from the page: the line is held, the form gone; a second post is refused', async () => {
    const { agent, token } = await login(s.app, ANN);
    const action = `/index.php?m=overusage&service=${s.ann.serviceId}`;
    await agent
      .post(action)
      .type('form')
      .send({ do: 'dispute', line: String(s.ann.lineId), reason: 'where does this come from?' })
      .expect(403);
    const res = await agent
      .post(action)
      .type('form')
      .send({
        token,
        do: 'dispute',
        line: String(s.ann.lineId),
        reason: 'I cannot tell where this traffic came from <script>alert(1)</script>',
      })
      .expect(200);
    const t = textOf(res.text);
    expect(t).to.include('Your dispute was received. The line is on hold while we look at it.');
    expect(res.text).to.match(new RegExp(`data-line="${s.ann.lineId}" data-state="held"`));
    expect(t).to.include('on hold, under dispute');
    expect(res.text).to.include('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(res.text).not.to.include('<script>alert(1)');
    expect(res.text).not.to.include('class="ou-dispute-form"');
    expect(res.text).to.include('value="withdraw"');
    const d = await db().knex('mod_overusage_disputes').where({ line_id: s.ann.lineId }).first();
    expect(d).to.deep.include({ state: 'open', hold_state: 'held', opened_by_type: 'client' });
    const again = await agent
      .post(action)
      .type('form')
      .send({ token, do: 'dispute', line: String(s.ann.lineId), reason: 'again' })
      .expect(200);
    expect(textOf(again.text)).to.include('This line is already disputed.');
  });

  it("refuses Ann every id of Jan's: his service, his period, his line and his dispute, and shows none of his figures", async () => {
    const jan = await login(s.app, JAN);
    await jan.agent
      .post('/index.php?m=overusage')
      .type('form')
      .send({ token: jan.token, do: 'dispute', line: String(s.jan.lineId), reason: 'Ik herken dit niet.' })
      .expect(200);
    const janDispute = toNum(
      (await db().knex('mod_overusage_disputes').where({ line_id: s.jan.lineId }).first('id')).id,
    );
    const janMay = toNum(
      (
        await db()
          .knex('mod_overusage_periods')
          .where({ service_id: s.jan.serviceId, start_date: '2013-05-01' })
          .first('id')
      ).id,
    );
    const before = await db().knex('mod_overusage_disputes').select('id', 'state', 'version');
    const { agent, token } = await login(s.app, ANN);
    for (const url of [
      `/index.php?m=overusage&service=${s.jan.serviceId}`,
      `/index.php?m=overusage&service=${s.ann.serviceId}&period=${janMay}`,
    ]) {
      const page = await agent.get(url).expect(200);
      expect(textOf(page.text)).to.include('That line or dispute was not found.');
      expect(page.text).not.to.include('vps2.example.be');
      expect(page.text).not.to.include('250.00');
    }
    for (const body of [
      { do: 'dispute', line: String(s.jan.lineId), reason: 'not mine but let me try' },
      { do: 'withdraw', dispute: String(janDispute) },
    ]) {
      const res = await agent
        .post('/index.php?m=overusage')
        .type('form')
        .send({ token, ...body })
        .expect(200);
      expect(textOf(res.text)).to.include('That line or dispute was not found.');
    }
    expect(await db().knex('mod_overusage_disputes').select('id', 'state', 'version')).to.deep.equal(before);
  });

  it('shows the threshold notice sent this period and the VPS throttled at the limit', async () => {
    const profile = (await s.mod.billing.getProduct(s.story.productId))!;
    await s.mod.billing.setProduct(
      s.story.productId,
      { ...profile, allowance: '400 GB', limitPolicy: { action: 'throttle', throttleMbps: 10 } },
      { type: 'cli', id: 'test' },
    );
    const { agent } = await login(s.app, ANN);
    const before = textOf((await agent.get('/index.php?m=overusage').expect(200)).text);
    expect(before).to.include(
      'When the allowance is used up, the speed of this VPS is limited until the next period.',
    );
    await s.mod.thresholds!.run({ decide: true });
    await s.mod.limits.run({ decide: true });
    const after = await agent.get('/index.php?m=overusage').expect(200);
    const t = textOf(after.text);
    expect(t).to.include(
      "On 5 June 2013 we told you this period's traffic had reached 100 % of the allowance.",
    );
    expect(t).to.include(
      'The allowance is used up: the speed of this VPS is limited until the next period starts.',
    );
    expect(after.text).to.include('class="ou-notice ou-notice-warn alert alert-danger" role="alert"');
  });

  it('says why a line can no longer be disputed once the window has closed, naming the deadline', async () => {
    s.f.clock.set('2013-06-17T08:00:00Z');
    const { agent } = await login(s.app, ANN);
    const page = await agent.get('/index.php?m=overusage').expect(200);
    expect(textOf(page.text)).to.include(
      'The window to dispute this line ended on 16 June 2013; a dispute after it cannot be accepted.',
    );
    expect(page.text).not.to.include('class="ou-dispute-form"');
  });

  it('offers no dispute of a line whose invoice the provider cancelled, says why in her words, and the home panel does not count it', async () => {
    const { agent } = await login(s.app, ANN);
    // before: her line in its window (dispute by 16 June), the form offered, counted on the home panel
    expect((await agent.get('/index.php?m=overusage').expect(200)).text).to.include(
      'class="ou-dispute-form"',
    );
    expect(textOf((await agent.get('/clientarea.php').expect(200)).text)).to.include(
      '1 line can still be disputed',
    );
    await s.f.panel.api.updateInvoice({ invoiceId: s.ann.invoiceId, status: 'Cancelled' });
    const page = await agent.get('/index.php?m=overusage').expect(200);
    // the dispute service's own refusal (NOT_OWED), before she writes a reason it would refuse
    expect(textOf(page.text)).to.include(
      `Invoice #${s.ann.invoiceId}, which this line is on, was cancelled: you owe nothing for the line, so there is nothing to dispute.`,
    );
    expect(page.text).not.to.include('class="ou-dispute-form"');
    expect(textOf((await agent.get('/clientarea.php').expect(200)).text)).not.to.include(
      'can still be disputed',
    );
  });

  it("adds the usage panel to the client's home page and the block to the service's page", async () => {
    const { agent } = await login(s.app, JAN);
    const home = await agent.get('/clientarea.php').expect(200);
    expect(home.text).to.include('data-panel="overusage"');
    const t = textOf(home.text);
    expect(t).to.include('Dataverkeer');
    expect(t).to.include('vps2.example.be (VPS 5 TB) · 5,4 %');
    expect(t).to.include('tegen 1 regel kan nog bezwaar worden gemaakt');
    expect(home.text).to.include('href="index.php?m=overusage"');
    const details = await agent
      .get(`/clientarea.php?action=productdetails&id=${s.jan.serviceId}`)
      .expect(200);
    expect(textOf(details.text)).to.include('270,00 GB van 5.000,00 GB (5,4 %)');
    expect(details.text).to.include(`href="index.php?m=overusage&amp;service=${s.jan.serviceId}"`);
    // Ann's home page shows hers only
    const ann = await login(s.app, ANN);
    const annHome = textOf((await ann.agent.get('/clientarea.php').expect(200)).text);
    expect(annHome).to.include('vps1.example.net');
    expect(annHome).not.to.include('vps2.example.be (VPS 5 TB) ·');
  });
});

/**
 * The same with the page kept as built for 15 s (the module's default): the panel's InvoiceCancelled
 * hook has the client's page built afresh, so the form goes at once, not 15 s later.
 */
describeEachEngine('the client widget, kept for 15 s, after an invoice is cancelled', ({ db }) => {
  it('drops the dispute form of a line on the cancelled invoice at once, on the page and the home panel', async function () {
    this.timeout(60_000);
    const s = await buildWebStory(db().knex, { web: { cacheMs: 15_000 } });
    const { agent } = await login(s.app, ANN);
    expect((await agent.get('/index.php?m=overusage').expect(200)).text).to.include(
      'class="ou-dispute-form"',
    );
    expect(textOf((await agent.get('/clientarea.php').expect(200)).text)).to.include(
      '1 line can still be disputed',
    );
    await s.f.panel.api.updateInvoice({ invoiceId: s.ann.invoiceId, status: 'Cancelled' });
    const page = await agent.get('/index.php?m=overusage').expect(200);
    expect(page.text).not.to.include('class="ou-dispute-form"');
    expect(textOf(page.text)).to.include(`Invoice #${s.ann.invoiceId}, which this line is on, was cancelled`);
    expect(textOf((await agent.get('/clientarea.php').expect(200)).text)).not.to.include(
      'can still be disputed',
    );
  });
});

describeEachEngine('the admin tab in the panel', ({ db }) => {
  let s: WebStory;
  beforeEach(async function () {
    this.timeout(30_000);
    s = await buildWebStory(db().knex);
  });
  const tab = '/admin/addonmodules.php?module=overusage';

  it('shows every page, each form with the panel CSRF token', async () => {
    const jan = await login(s.app, JAN);
    await jan.agent
      .post('/index.php?m=overusage')
      .type('form')
      .send({
        token: jan.token,
        do: 'dispute',
        line: String(s.jan.lineId),
        reason: 'Ik herken <b>dit</b> niet.',
      })
      .expect(200);
    const disputeId = toNum((await db().knex('mod_overusage_disputes').first('id')).id);
    const { agent } = await login(s.app, ADMIN);
    const expectations: Array<[string, string[]]> = [
      [
        '',
        [
          'services metered',
          'open dispute',
          'Open disputes, oldest first',
          'Recent lines',
          'Sampling',
          'solus (SolusVM 1)',
        ],
      ],
      ['&a=services', ['Metered services', '#' + s.ann.serviceId]],
      [
        `&a=service&id=${s.ann.serviceId}`,
        ['Samples', 'gap: no good read this day', 'Periods', 'Lines', 'Stop metering this service'],
      ],
      ['&a=disputes', ['Disputes', 'Ik herken <b>dit</b> niet.']],
      [
        `&a=dispute&id=${disputeId}`,
        [
          'Dispute #' + disputeId,
          'How the line was rated',
          'Pricing: per GB over the allowance',
          'Resolve the dispute',
          'Preview the new amount',
        ],
      ],
      ['&a=lines', ['Export these lines (CSV)', 'Reference, id or text']],
      [`&a=line&id=${s.ann.lineId}`, ['Dispute this line for the client', 'Raw samples (CSV)']],
      [
        '&a=settings',
        [
          'SolusVM masters',
          'Test the connection',
          'Reclamation window',
          '14 calendar days',
          'Notices at',
          'Save product',
        ],
      ],
      ['&a=audit', ['Audit log', 'dispute.opened']],
    ];
    for (const [q, wants] of expectations) {
      const res = await agent.get(tab + q).expect(200);
      const t = textOf(res.text);
      for (const want of wants) expect(t, `${q}: ${want}`).to.include(want);
      const ours = res.text.slice(res.text.indexOf('class="ou ou-admin"'));
      const forms = ours.match(/<form method="post"[^>]*>/g) ?? [];
      const tokens = ours.match(/<form method="post"[^>]*><input type="hidden" name="token"/g) ?? [];
      expect(tokens.length, q).to.equal(forms.length);
    }
    // the client's words are text, never markup
    const queue = await agent.get(tab + '&a=disputes').expect(200);
    expect(queue.text).to.include('Ik herken &lt;b&gt;dit&lt;/b&gt; niet.');
  });

  it('renders its pages without looking for a template on disk: every include is rooted and cached', async () => {
    // EJS looks up a relative include with fs.existsSync on every call, cache or not: on the dispute
    // queue (two includes a row, 50 rows) that was 100 disk checks a page and 10 % of the server's CPU
    const { agent } = await login(s.app, ADMIN);
    const pages = ['', '&a=services', `&a=service&id=${s.ann.serviceId}`, '&a=disputes', '&a=lines'];
    pages.push(`&a=line&id=${s.ann.lineId}`, '&a=settings', '&a=audit');
    for (const q of pages) await agent.get(tab + q).expect(200); // the first render compiles and caches
    const looked: string[] = [];
    const existsSync = fs.existsSync;
    fs.existsSync = (p: fs.PathLike) => {
      if (String(p).endsWith('.ejs')) looked.push(String(p));
      return existsSync(p);
    };
    try {
      for (const q of pages) await agent.get(tab + q).expect(200);
    } finally {
      fs.existsSync = existsSync;
    }
    expect(looked).to.deep.equal([]);
  });

  it('previews an adjustment and resolves a dispute from the queue; the client sees the outcome', async () => {
    const jan = await login(s.app, JAN);
    await jan.agent
      .post('/index.php?m=overusage')
      .type('form')
      .send({ token: jan.token, do: 'dispute', line: String(s.jan.lineId), reason: 'Ik herken dit niet.' })
      .expect(200);
    const d = await db().knex('mod_overusage_disputes').first();
    const { agent, token } = await login(s.app, ADMIN);
    const url = `${tab}&a=dispute&id=${d.id}`;
    const preview = await agent
      .post(url)
      .type('form')
      .send({ token, do: 'preview', dispute: String(d.id), to: 'adjusted', kind: 'share', percent: '40' })
      .expect(200);
    expect(textOf(preview.text)).to.include('New amount: €100.00 (40 % of the original amount)');
    expect(preview.text).to.include('value="40"');
    const bad = await agent
      .post(url)
      .type('form')
      .send({
        token,
        do: 'resolve',
        dispute: String(d.id),
        to: 'adjusted',
        kind: 'amount',
        amount: '999.00',
        version: String(d.version),
      })
      .expect(200);
    expect(textOf(bad.text)).to.include('an adjustment cannot raise the amount');
    await agent
      .post(url)
      .type('form')
      .send({ do: 'resolve', dispute: String(d.id), to: 'waived' })
      .expect(403);
    const done = await agent
      .post(url)
      .type('form')
      .send({
        token,
        do: 'resolve',
        dispute: String(d.id),
        to: 'adjusted',
        kind: 'share',
        percent: '40',
        version: String(d.version),
        note: 'compromise',
      })
      .expect(200);
    // 40 % of Jan's €250.00 = €100.00
    expect(textOf(done.text)).to.include(
      `Dispute ${d.id} adjusted: the line now bills €100.00 (was €250.00).`,
    );
    expect(done.text).not.to.include('Resolve the dispute');
    const page = textOf((await jan.agent.get('/index.php?m=overusage').expect(200)).text);
    expect(page).to.include('aangepast na betwisting');
    expect(page).to.match(
      /Aangepast op \d+ juni 2013 van €\s250,00 naar €\s100,00; te betalen uiterlijk \d+ juni 2013\./,
    );
    // past periods: May now bills 40 % of €250.00 = €100.00, not the €250.00 first rated
    // (the row in GB, as the line: 5 500 used, 5 000 included, 500 over)
    expect(page).to.match(
      /1–31 mei 2013 5\.500,00 GB 5\.000,00 GB 500,00 GB Gefactureerd: €\s100,00 \(aangepast na betwisting\)/,
    );
  });

  it('says in words where a paid line stands once disputed, never the internal state name', async () => {
    // Ann pays the whole renewal (hosting and the €500.00 line); the admin then opens a dispute for her
    await s.f.panel.api.addInvoicePayment({
      invoiceId: s.ann.invoiceId,
      transId: 'pay-all',
      gateway: 'banktransfer',
      date: '2013-06-05 09:00:00',
    });
    const { agent, token } = await login(s.app, ADMIN);
    const line = `${tab}&a=line&id=${s.ann.lineId}`;
    const opened = await agent
      .post(line)
      .type('form')
      .send({ token, do: 'open_dispute', line: String(s.ann.lineId), reason: 'client phoned' })
      .expect(200);
    expect(textOf(opened.text)).to.match(
      /Dispute \d+ opened; the line is already paid: a refund or credit if it is waived or reduced\./,
    );
    const d = await db().knex('mod_overusage_disputes').first('id');
    const page = await agent.get(`${tab}&a=dispute&id=${d.id}`).expect(200);
    expect(textOf(page.text)).to.include('Hold already paid: a refund or credit if it is waived or reduced');
    expect(page.text).not.to.include('refund_decision');
    // waived: the €500.00 she paid goes to her account credit, and her page says so (not "you owe nothing")
    // waived from the dispute page's form: the flash tells the money (€500.00 → €0.00, €500.00 credited)
    const waived = await agent
      .post(`${tab}&a=dispute&id=${d.id}`)
      .type('form')
      .send({ token, do: 'resolve', dispute: String(d.id), to: 'waived', settlement: 'credit' })
      .expect(200);
    expect(textOf(waived.text)).to.include(
      `Dispute ${d.id} waived: the line now bills €0.00 (was €500.00); €500.00 credited to the client's account.`,
    );
    const ann = await login(s.app, ANN);
    const mine = textOf((await ann.agent.get('/index.php?m=overusage').expect(200)).text);
    expect(mine).to.match(
      /Decided on \d+ June 2013: the line now bills €0\.00; you had paid it already, so we credited €500\.00 to your account\./,
    );
    expect(mine).not.to.include('you owe nothing');
  });

  it('offers credit or refund for a line paid on the held invoice the admin published, and a refund credits nothing', async () => {
    // the admin opens Ann's dispute on 5 June: her €500.00 line moves to a held draft; the admin
    // publishes it, Ann pays the €500.00 on it on 8 June, and the admin waives it on 10 June
    const { agent, token } = await login(s.app, ADMIN);
    s.f.clock.set('2013-06-05T09:00:00Z');
    await agent
      .post(`${tab}&a=line&id=${s.ann.lineId}`)
      .type('form')
      .send({ token, do: 'open_dispute', line: String(s.ann.lineId), reason: 'client phoned' })
      .expect(200);
    const d = await db().knex('mod_overusage_disputes').first('id', 'held_invoice_id', 'hold_state');
    expect(String(d.hold_state)).to.equal('held');
    const held = toNum(d.held_invoice_id);
    await s.f.panel.api.updateInvoice({ invoiceId: held, publish: true });
    await s.f.panel.api.addInvoicePayment({
      invoiceId: held,
      transId: 'pay-held',
      gateway: 'banktransfer',
      date: '2013-06-08 10:00:00',
    });
    s.f.clock.set('2013-06-10T09:00:00Z');
    const page = await agent.get(`${tab}&a=dispute&id=${d.id}`).expect(200);
    // the same choice as for a line paid before its dispute (was: none, always credited)
    expect(textOf(page.text)).to.include('The line was already paid: give back the difference as');
    expect(page.text).to.match(/name="settlement" value="refund"/);
    const waived = await agent
      .post(`${tab}&a=dispute&id=${d.id}`)
      .type('form')
      .send({ token, do: 'resolve', dispute: String(d.id), to: 'waived', settlement: 'refund' })
      .expect(200);
    expect(textOf(waived.text)).not.to.include('credited');
    // a refund the admin makes by hand: the €500.00 credit note is made, nothing goes to her credit
    const credit = (await db().knex('tblclients').where({ id: s.ann.clientId }).first('credit')).credit;
    expect(String(credit)).to.equal('0.00');
    const after = await db().knex('mod_overusage_disputes').where({ id: d.id }).first('settlement', 'state');
    expect([String(after.state), String(after.settlement)]).to.deep.equal(['waived', 'refund']);
    const note = await db()
      .knex('tblinvoices')
      .where({ userid: s.ann.clientId })
      .andWhere('id', '>', held)
      .first('id', 'status', 'total');
    expect([String(note.status), String(note.total)]).to.deep.equal(['Paid', '-500.00']);
    // the flash tells the €500.00 the note gives back, refunded from the held invoice she paid it on
    expect(textOf(waived.text)).to.include(
      `Dispute ${d.id} waived: the line now bills €0.00 (was €500.00). Refund €500.00 to the client yourself, the module does not: in the panel, invoice #${held} › Refund tab: the client's payment, amount €500.00, through the gateway or recorded as made outside; credit note #${toNum(note.id)} records it.`,
    );
  });

  it('a line on a held invoice not paid yet gets no such choice', async () => {
    const { agent, token } = await login(s.app, ADMIN);
    s.f.clock.set('2013-06-05T09:00:00Z');
    await agent
      .post(`${tab}&a=line&id=${s.ann.lineId}`)
      .type('form')
      .send({ token, do: 'open_dispute', line: String(s.ann.lineId), reason: 'client phoned' })
      .expect(200);
    const d = await db().knex('mod_overusage_disputes').first('id', 'held_invoice_id');
    // published, not paid: a waiver takes the line off it, nothing to give back
    await s.f.panel.api.updateInvoice({ invoiceId: toNum(d.held_invoice_id), publish: true });
    const page = await agent.get(`${tab}&a=dispute&id=${d.id}`).expect(200);
    expect(textOf(page.text)).not.to.include('The line was already paid');
  });

  it('opens a dispute after the window (closed 16 June 2013) only with an override reason', async () => {
    s.f.clock.set('2013-06-20T08:00:00Z');
    const { agent, token } = await login(s.app, ADMIN);
    const line = `${tab}&a=line&id=${s.ann.lineId}`;
    const page = await agent.get(line).expect(200);
    expect(page.text).to.include('The window has closed: why open it anyway?');
    const refused = await agent
      .post(line)
      .type('form')
      .send({ token, do: 'open_dispute', line: String(s.ann.lineId), reason: 'goodwill' })
      .expect(200);
    expect(textOf(refused.text)).to.match(/the window closed on 16 June 2013/);
    const opened = await agent
      .post(line)
      .type('form')
      .send({
        token,
        do: 'open_dispute',
        line: String(s.ann.lineId),
        reason: 'goodwill',
        override: 'long-standing client',
      })
      .expect(200);
    expect(textOf(opened.text)).to.match(/Dispute \d+ opened; the line is held\./);
  });

  it("tests a master from the settings page and shows the test's report", async () => {
    const { agent, token } = await login(s.app, ADMIN);
    const master = toNum((await db().knex('mod_overusage_masters').first('id')).id);
    const tested = await agent
      .post(`${tab}&a=settings`)
      .type('form')
      .send({ token, do: 'test_master', master: String(master) })
      .expect(200);
    expect(tested.text).to.include('data-report');
  });

  it('refuses product settings that are not JSON or give no price, saying why', async () => {
    const { agent, token } = await login(s.app, ADMIN);
    const badJson = await agent
      .post(`${tab}&a=settings`)
      .type('form')
      .send({ token, do: 'save_product', product: String(s.story.productId), settings: '{not json' })
      .expect(200);
    expect(textOf(badJson.text)).to.include('the settings must be JSON');
    const invalid = await agent
      .post(`${tab}&a=settings`)
      .type('form')
      .send({
        token,
        do: 'save_product',
        product: String(s.story.productId),
        settings: JSON.stringify({ unit: 'GB', allowance: '5 TB', prices: {} }),
      })
      .expect(200);
    expect(textOf(invalid.text)).to.include('give a price for at least one currency');
  });

  it("saves the module's settings: the daily reading at 23:30", async () => {
    const { agent, token } = await login(s.app, ADMIN);
    const saved = await agent
      .post(`${tab}&a=settings`)
      .type('form')
      .send({ token, do: 'save_settings', sample_at: '23:30' })
      .expect(200);
    expect(textOf(saved.text)).to.include('Settings saved.');
    expect(await s.mod.settings.get('sample_at')).to.equal('23:30');
  });

  it("switches a service's metering off", async () => {
    const { agent, token } = await login(s.app, ADMIN);
    const off = await agent
      .post(`${tab}&a=service&id=${s.jan.serviceId}`)
      .type('form')
      .send({ token, do: 'service_active', service: String(s.jan.serviceId), active: '0' })
      .expect(200);
    expect(textOf(off.text)).to.include(`Metering of service ${s.jan.serviceId} is off.`);
  });

  it('answers a page that does not exist, or an id that is not there, with a message, not an error page', async () => {
    const { agent } = await login(s.app, ADMIN);
    expect(textOf((await agent.get(`${tab}&a=dispute&id=999`).expect(200)).text)).to.include(
      'that dispute does not exist',
    );
    expect(textOf((await agent.get(`${tab}&a=nothing`).expect(200)).text)).to.include(
      'there is no page "nothing"',
    );
    expect(textOf((await agent.get(`${tab}&a=lines&before=abc`).expect(200)).text)).to.include(
      'cursor must be a positive whole number',
    );
  });

  it('is not shown to a client or a visitor', async () => {
    const { agent } = await login(s.app, ANN);
    const res = await agent.get(tab);
    expect(res.status).to.equal(303);
    expect(res.headers.location).to.match(/login\.php/);
    expect((await request(s.app).get(tab)).status).to.equal(303);
    expect(tokenOf((await agent.get('/clientarea.php')).text)).to.be.a('string');
  });
});
