import { expect } from 'chai';
import request from 'supertest';
import { engineOf } from '../../module/adapters/database.js';
import { describeEachEngine } from '../support/engines.js';
import { adminLogin, buildWeb, type Agent, type WebFixture } from './web-support.js';

const rowsOf = (html: string, pattern: RegExp): string[] => html.match(new RegExp(pattern.source, 'g')) ?? [];

describeEachEngine('panel pages: the admin area', ({ db }) => {
  let w: WebFixture;
  let agent: Agent;
  let token: string;
  let annInvoice: number;
  let janInvoice: number;

  beforeEach(async () => {
    w = await buildWeb(db().knex);
    await w.panel.runDailyAutomation('2025-01-20');
    const byClient = async (userid: number) =>
      Number((await w.knex('tblinvoices').where({ userid }).first('id'))!.id);
    annInvoice = await byClient(w.story.clientId);
    janInvoice = await byClient(w.story.dutchClientId);
    ({ agent, token } = await adminLogin(w.app));
  });

  it('shows the dashboard with counts and the last automation run', async () => {
    const res = await agent.get('/admin/index.php').expect(200);
    expect(res.text)
      .to.include('<strong>2</strong> clients')
      .and.include('<strong>2</strong> unpaid invoices')
      .and.include('<strong>0</strong> overdue invoices');
    expect(res.text).to.include('href="automationstatus.php?date=2025-01-20"').and.include('completed');
  });

  it('lists clients, finds them by name or email, and shows a client summary with the AdminAreaClientSummaryPage HTML', async () => {
    w.panel.hooks.add(
      'AdminAreaClientSummaryPage',
      1,
      (vars: { userid: number }) => `<div id="summary-hook">overusage for client ${vars.userid}</div>`,
    );
    const list = await agent.get('/admin/clients.php').expect(200);
    expect(list.text).to.include('Ann Admin').and.include('Jan Peeters');
    const found = await agent.get('/admin/clients.php?q=example.be').expect(200);
    expect(found.text).to.include('Jan Peeters').and.not.include('Ann Admin');
    const literal = await agent.get('/admin/clients.php?q=%25').expect(200);
    expect(literal.text).to.include('No clients.');
    const summary = await agent.get(`/admin/clientssummary.php?userid=${w.story.clientId}`).expect(200);
    expect(summary.text)
      .to.include('ann@example.net')
      .and.include('vps1.example.net')
      .and.include(`invoices.php?action=edit&amp;id=${annInvoice}`);
    expect(summary.text).to.include(`<div id="summary-hook">overusage for client ${w.story.clientId}</div>`);
    expect(summary.text).to.not.include('vps2.example.be');
    await agent.get('/admin/clientssummary.php?userid=999').expect(404);
  });

  it('lists services with a status filter and shows a service with its fields, renewal lines and tab fields hook', async () => {
    w.panel.hooks.add('AdminClientServicesTabFields', 1, (vars: { id: number }) => ({
      'Bandwidth this period': `<b id="tab-hook">service ${vars.id}</b>`,
    }));
    await w.knex('tblhosting').where({ id: w.story.dutchServiceId }).update({ domainstatus: 'Suspended' });
    const all = await agent.get('/admin/services.php').expect(200);
    expect(all.text).to.include('vps1.example.net').and.include('vps2.example.be');
    const suspended = await agent.get('/admin/services.php?status=Suspended').expect(200);
    expect(suspended.text).to.include('vps2.example.be').and.not.include('vps1.example.net');
    const view = await agent.get(`/admin/clientsservices.php?id=${w.story.serviceId}`).expect(200);
    expect(view.text)
      .to.include('vserverid')
      .and.include('101')
      .and.include('solusvmpro')
      .and.include('2025-02-01');
    expect(view.text)
      .to.include(`invoices.php?action=edit&amp;id=${annInvoice}`)
      .and.include('VPS 5 TB - vps1.example.net (01/02/2025 - 28/02/2025)');
    expect(view.text)
      .to.include('Bandwidth this period')
      .and.include(`<b id="tab-hook">service ${w.story.serviceId}</b>`);
    await agent.get('/admin/clientsservices.php?id=999').expect(404);
  });

  it('lists invoices filtered by status, Overdue included', async () => {
    const unpaid = await agent.get('/admin/invoices.php?status=Unpaid').expect(200);
    expect(rowsOf(unpaid.text, /invoices\.php\?action=edit&amp;id=\d+/)).to.have.length(2);
    const overdueBefore = await agent.get('/admin/invoices.php?status=Overdue').expect(200);
    expect(overdueBefore.text).to.include('No invoices.');
    w.clock.set('2025-02-05T10:00:00Z');
    await w.panel.commands.execute(
      'AddInvoicePayment',
      { invoiceid: String(annInvoice), transid: 'T1', gateway: 'banktransfer' },
      { source: 'localapi', user: 'system' },
    );
    const overdue = await agent.get('/admin/invoices.php?status=Overdue').expect(200);
    expect(rowsOf(overdue.text, /invoices\.php\?action=edit&amp;id=\d+/)).to.deep.equal([
      `invoices.php?action=edit&amp;id=${janInvoice}`,
    ]);
    expect(overdue.text).to.include('status-overdue');
    const paid = await agent.get('/admin/invoices.php?status=Paid').expect(200);
    expect(rowsOf(paid.text, /invoices\.php\?action=edit&amp;id=\d+/)).to.deep.equal([
      `invoices.php?action=edit&amp;id=${annInvoice}`,
    ]);
    const byClient = await agent.get(`/admin/invoices.php?userid=${w.story.dutchClientId}`).expect(200);
    expect(rowsOf(byClient.text, /invoices\.php\?action=edit&amp;id=\d+/)).to.deep.equal([
      `invoices.php?action=edit&amp;id=${janInvoice}`,
    ]);
  });

  it('shows an invoice and adds payments to it, partial then full, through AddInvoicePayment', async () => {
    const view = await agent.get(`/admin/invoices.php?action=edit&id=${janInvoice}`).expect(200);
    expect(view.text)
      .to.include('VPS 5 TB - vps2.example.be')
      .and.include('No transactions.')
      .and.include('data-balance="24.50"');
    const first = await agent
      .post(`/admin/invoices.php?action=edit&id=${janInvoice}`)
      .type('form')
      .send({
        token,
        sub: 'addpayment',
        amount: '4.50',
        date: '2025-01-21',
        transid: 'BANK-1',
        gateway: 'banktransfer',
        noemail: '1',
      })
      .expect(303);
    expect(first.headers.location).to.equal(`/admin/invoices.php?action=edit&id=${janInvoice}`);
    const after = await agent.get(first.headers.location!).expect(200);
    expect(after.text)
      .to.include('Payment of 4.50 added.')
      .and.include('BANK-1')
      .and.include('data-balance="20.00"')
      .and.include('status-unpaid');
    const tx = await w.knex('tblaccounts').where({ invoiceid: janInvoice }).first();
    expect(String(tx!.date)).to.match(/^2025-01-21/);
    const emailsBefore = Number((await w.knex('tblemails').count({ n: '*' }))[0]!.n);
    await agent
      .post(`/admin/invoices.php?action=edit&id=${janInvoice}`)
      .type('form')
      .send({ token, sub: 'addpayment', amount: '20.00', transid: 'BANK-2', gateway: 'banktransfer' })
      .expect(303);
    const paid = await agent.get(`/admin/invoices.php?action=edit&id=${janInvoice}`).expect(200);
    expect(paid.text).to.include('data-balance="0.00"').and.include('status-paid');
    // without noemail the client gets the payment confirmation
    expect(Number((await w.knex('tblemails').count({ n: '*' }))[0]!.n)).to.equal(emailsBefore + 1);
    const inv = await w.knex('tblinvoices').where({ id: janInvoice }).first('status');
    expect(inv!.status).to.equal('Paid');
  });

  it('refuses a bad payment with a message, and a payment without the CSRF token with 403', async () => {
    for (const amount of ['0', '-5', '1.001', 'x']) {
      const res = await agent
        .post(`/admin/invoices.php?action=edit&id=${annInvoice}`)
        .type('form')
        .send({ token, sub: 'addpayment', amount })
        .expect(400);
      expect(res.text).to.include('The amount must be greater than zero');
    }
    const badDate = await agent
      .post(`/admin/invoices.php?action=edit&id=${annInvoice}`)
      .type('form')
      .send({ token, sub: 'addpayment', amount: '1.00', date: '21/01/2025' })
      .expect(400);
    expect(badDate.text).to.include('The date must be YYYY-MM-DD.');
    await agent
      .post(`/admin/invoices.php?action=edit&id=${annInvoice}`)
      .type('form')
      .send({ sub: 'addpayment', amount: '1.00' })
      .expect(403);
    await w.panel.commands.execute(
      'UpdateInvoice',
      { invoiceid: String(annInvoice), status: 'Cancelled' },
      { source: 'localapi', user: 'system' },
    );
    const cancelled = await agent
      .post(`/admin/invoices.php?action=edit&id=${annInvoice}`)
      .type('form')
      .send({ token, sub: 'addpayment', amount: '1.00' })
      .expect(400);
    expect(cancelled.text).to.include('It is not possible to add a payment to an invoice that is Cancelled');
    expect(Number((await w.knex('tblaccounts').count({ n: '*' }))[0]!.n)).to.equal(0);
    await agent.get('/admin/invoices.php?action=edit&id=999').expect(404);
  });

  it('shows the email the automation sent, the message as rendered, in a sandboxed frame', async () => {
    const list = await agent.get('/admin/systememaillog.php').expect(200);
    expect(list.text)
      .to.include('Customer Invoice')
      .and.include('Ann Admin &lt;ann@example.net&gt;')
      .and.include('Factuur');
    const email = await w.knex('tblemails').where({ userid: w.story.clientId }).first('id', 'message');
    const view = await agent.get(`/admin/viewemail.php?id=${email!.id}`).expect(200);
    expect(view.text).to.include('<iframe class="email-body" sandbox=""');
    expect(view.text).to.include('srcdoc="&lt;p&gt;Dear Ann Admin,&lt;/p&gt;');
    // the message's own HTML is never live in the page
    expect(String(email!.message)).to.include('<table class="invoice-items">');
    expect(view.text).to.not.include('<table class="invoice-items">');
    const mine = await agent.get(`/admin/systememaillog.php?userid=${w.story.dutchClientId}`).expect(200);
    expect(mine.text).to.include('Factuur').and.not.include('Customer Invoice');
    await agent.get('/admin/viewemail.php?id=999').expect(404);
  });

  it('shows the automation runs and the steps of a run', async () => {
    await w.panel.runDailyAutomation('2025-01-21');
    const runs = await agent.get('/admin/automationstatus.php').expect(200);
    expect(runs.text)
      .to.include('automationstatus.php?date=2025-01-21')
      .and.include('automationstatus.php?date=2025-01-20');
    expect(runs.text.indexOf('date=2025-01-21')).to.be.lessThan(runs.text.indexOf('date=2025-01-20'));
    const run = await agent.get('/admin/automationstatus.php?date=2025-01-20').expect(200);
    expect(run.text)
      .to.include('2 invoices')
      .and.include('InvoiceGeneration')
      .and.include(`service #${w.story.serviceId}`)
      .and.include('due:2025-02-01')
      .and.include('invoiced');
    expect(run.text).to.include(`invoice ${annInvoice}`);
    const filtered = await agent.get('/admin/automationstatus.php?date=2025-01-20&task=LateFees').expect(200);
    expect(filtered.text).to.include('No steps.');
    await agent.get('/admin/automationstatus.php?date=2024-01-01').expect(404);
    await agent.get('/admin/automationstatus.php?date=nonsense').expect(404);
  });

  it('shows the activity log, filtered by client', async () => {
    const all = await agent.get('/admin/systemactivitylog.php').expect(200);
    expect(all.text)
      .to.include('Cron Job: Created Invoice - Invoice ID: ')
      .and.include('Admin Logged In - Username: admin');
    const mine = await agent.get(`/admin/systemactivitylog.php?userid=${w.story.dutchClientId}`).expect(200);
    expect(mine.text).to.include(`Invoice ID: ${janInvoice}`).and.not.include(`Invoice ID: ${annInvoice}<`);
    const search = await agent.get('/admin/systemactivitylog.php?q=Logged').expect(200);
    expect(search.text).to.include('Admin Logged In').and.not.include('Cron Job');
  });

  it('needs an admin login for every admin page', async () => {
    for (const path of [
      '/admin/',
      '/admin/clients.php',
      '/admin/invoices.php',
      '/admin/systememaillog.php',
      '/admin/automationstatus.php',
      '/admin/systemactivitylog.php',
      '/admin/configaddonmods.php',
      '/admin/addonmodules.php?module=x',
    ]) {
      const res = await request(w.app).get(path).expect(303);
      expect(res.headers.location, path).to.match(/^\/admin\/login\.php/);
    }
  });

  it('reads one page of a list of 100 000 emails', async function () {
    this.timeout(60_000);
    const knex = w.knex;
    const select = `SELECT 0, CONCAT('Subject ', n), 'x', '2025-01-19 10:00:00', 'bulk@example.net', '', '', '', 0, 0 FROM seq`;
    if (engineOf(knex) === 'sqlite') {
      await knex.raw(
        `INSERT INTO tblemails (userid, subject, message, date, "to", cc, bcc, attachments, pending, failed) WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 100000) ${select.replace("CONCAT('Subject ', n)", "'Subject ' || n")}`,
      );
    } else {
      await knex.raw('SET SESSION max_recursive_iterations = 200000');
      await knex.raw(
        `INSERT INTO tblemails (userid, subject, message, date, \`to\`, cc, bcc, attachments, pending, failed) WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 100000) ${select}`,
      );
    }
    const queries: string[] = [];
    const spy = (q: { sql: string }) => queries.push(q.sql);
    knex.on('query', spy);
    const page = await agent.get('/admin/systememaillog.php?page=1000').expect(200);
    knex.off('query', spy);
    expect(rowsOf(page.text, /viewemail\.php\?id=\d+">\d+</)).to.have.length(50);
    expect(page.text).to.include('49951–50000 / 100002');
    const listQuery = queries.find((q) => /from [`"]tblemails[`"]/i.test(q) && /limit/i.test(q))!;
    expect(listQuery).to.not.match(/message/);
  });
});
