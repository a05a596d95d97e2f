import { expect } from 'chai';
import request from 'supertest';
import { addClient } from '../../panel/records.js';
import { hashClientPassword } from '../../panel/web/passwords.js';
import type { MenuItem } from '../../panel/web/menu.js';
import { describeEachEngine } from '../support/engines.js';
import { ZONE } from './support.js';
import {
  JAN,
  adminLogin,
  buildWeb,
  clientLogin,
  invoiceFor,
  tokenOf,
  type Agent,
  type WebFixture,
} from './web-support.js';

/** The balance shown on an invoice page, as the decimal the page carries for scripts. */
const balanceOn = (html: string): string => /data-balance="([^"]+)"/.exec(html)![1]!;
const nonceOn = (html: string): string => /name="nonce" value="([^"]+)"/.exec(html)![1]!;

describeEachEngine('panel pages: the client area', ({ db }) => {
  let w: WebFixture;
  let annInvoice: number;
  let janInvoice: number;

  beforeEach(async () => {
    w = await buildWeb(db().knex);
    // the daily automation makes each client's renewal invoice, due 2025-02-01
    const report = await w.panel.runDailyAutomation('2025-01-20');
    expect(report.invoicesCreated).to.have.length(2);
    const byClient = async (userid: number) =>
      Number((await w.knex('tblinvoices').where({ userid }).first('id'))!.id);
    annInvoice = await byClient(w.story.clientId);
    janInvoice = await byClient(w.story.dutchClientId);
  });

  const getInvoice = async (id: number) => {
    const r = await w.panel.commands.execute(
      'GetInvoice',
      { invoiceid: String(id) },
      { source: 'localapi', user: 'system' },
    );
    return r as Record<string, unknown>;
  };
  const payments = async () => Number((await w.knex('tblaccounts').count({ n: '*' }))[0]!.n);

  /** Sends the invoice page's payment form; answers the response after checking its status. */
  async function pay(agent: Agent, invoiceId: number, form: Record<string, string>, status: number) {
    const page = await agent.get(`/viewinvoice.php?id=${invoiceId}`).expect(200);
    return agent
      .post(`/viewinvoice.php?id=${invoiceId}`)
      .type('form')
      .send({ token: tokenOf(page.text), nonce: nonceOn(page.text), ...form })
      .expect(status);
  }

  it('shows the client their services with status and next due date, and their invoices with status, total and balance', async () => {
    const { agent } = await clientLogin(w.app);
    const home = await agent.get('/clientarea.php').expect(200);
    expect(home.text)
      .to.include('VPS 5 TB')
      .and.include('vps1.example.net')
      .and.include('status-active')
      .and.include('01/02/2025');
    expect(home.text)
      .to.include(`viewinvoice.php?id=${annInvoice}`)
      .and.include('€19.95')
      .and.include('status-unpaid');
    expect(home.text).to.not.include('vps2.example.be').and.not.include(`viewinvoice.php?id=${janInvoice}"`);
    const services = await agent.get('/clientarea.php?action=services').expect(200);
    expect(services.text).to.include(`clientarea.php?action=productdetails&amp;id=${w.story.serviceId}`);
    const invoices = await agent.get('/clientarea.php?action=invoices').expect(200);
    expect(invoices.text).to.include(`viewinvoice.php?id=${annInvoice}`);
  });

  it('shows an invoice with its lines, totals, payments, balance and status', async () => {
    const { agent } = await clientLogin(w.app);
    const page = await agent.get(`/viewinvoice.php?id=${annInvoice}`).expect(200);
    expect(page.text).to.include('VPS 5 TB - vps1.example.net (01/02/2025 - 28/02/2025)');
    expect(page.text).to.include('Sub Total').and.include('Total').and.include('No payments yet.');
    expect(balanceOn(page.text)).to.equal('19.95');
    expect(page.text).to.include('name="pay" value="partial"');
  });

  it("answers 404 for another client's invoice or service, a draft, or an id that is not one, and pays nothing", async () => {
    const { agent, token } = await clientLogin(w.app);
    const draft = await invoiceFor(w, w.story.clientId, [['Draft line', '5.00']], { draft: true });
    for (const path of [
      `/viewinvoice.php?id=${janInvoice}`,
      `/viewinvoice.php?id=${draft}`,
      '/viewinvoice.php?id=99999',
      '/viewinvoice.php?id=abc',
      '/viewinvoice.php',
      `/clientarea.php?action=productdetails&id=${w.story.dutchServiceId}`,
      '/clientarea.php?action=productdetails&id=0',
    ]) {
      const res = await agent.get(path).expect(404);
      expect(res.text).to.include('Page Not Found');
    }
    await agent
      .post(`/viewinvoice.php?id=${janInvoice}`)
      .type('form')
      .send({ token, pay: 'full' })
      .expect(404);
    await agent
      .post(`/viewinvoice.php?id=${janInvoice}`)
      .type('form')
      .send({ token, pay: 'partial', amount: '1.00' })
      .expect(404);
    expect(await payments()).to.equal(0);
    expect((await getInvoice(janInvoice)).status).to.equal('Unpaid');
  });

  it('pays the full balance through AddInvoicePayment: the invoice is Paid and the service renewed', async () => {
    const { agent } = await clientLogin(w.app);
    w.panel.hooks.clearTrace();
    const res = await pay(agent, annInvoice, { pay: 'full' }, 303);
    expect(res.headers.location).to.equal(`/viewinvoice.php?id=${annInvoice}&paymentsuccess=true`);
    const inv = await getInvoice(annInvoice);
    expect(inv.status).to.equal('Paid');
    expect(inv.balance).to.equal('0.00');
    expect(w.panel.hooks.fired(['AddTransaction', 'AddInvoicePayment', 'InvoicePaid'])).to.deep.equal([
      'AddTransaction',
      'AddInvoicePayment',
      'InvoicePaid',
    ]);
    const svc = await w.knex('tblhosting').where({ id: w.story.serviceId }).first('nextduedate');
    expect(String(svc!.nextduedate).slice(0, 10)).to.equal('2025-03-01');
    const tx = await w.knex('tblaccounts').where({ invoiceid: annInvoice }).first();
    expect(tx!.gateway).to.equal('banktransfer');
    expect(String(tx!.transid)).to.match(/^DEMO-/);
    const page = await agent.get(res.headers.location!).expect(200);
    expect(page.text).to.include('Thank you, your payment was received.').and.include('status-paid');
    expect(balanceOn(page.text)).to.equal('0.00');
    expect(page.text).to.not.include('name="pay"');
    // nothing left to pay now
    const again = await agent
      .post(`/viewinvoice.php?id=${annInvoice}`)
      .type('form')
      .send({ token: tokenOf(page.text), pay: 'full' })
      .expect(400);
    expect(again.text).to.include('This invoice has nothing left to pay.');
    expect(await payments()).to.equal(1);
  });

  it('pays part of the balance: the invoice stays Unpaid with the rest to pay, then the rest settles it', async () => {
    const { agent } = await clientLogin(w.app);
    await pay(agent, annInvoice, { pay: 'partial', amount: '5.00' }, 303);
    let inv = await getInvoice(annInvoice);
    expect([inv.status, inv.balance]).to.deep.equal(['Unpaid', '14.95']);
    let page = await agent.get(`/viewinvoice.php?id=${annInvoice}`).expect(200);
    expect(balanceOn(page.text)).to.equal('14.95');
    expect(page.text).to.include('€5.00');
    const svc = await w.knex('tblhosting').where({ id: w.story.serviceId }).first('nextduedate');
    expect(String(svc!.nextduedate).slice(0, 10)).to.equal('2025-02-01');
    await pay(agent, annInvoice, { pay: 'partial', amount: '14.95' }, 303);
    inv = await getInvoice(annInvoice);
    expect([inv.status, inv.balance]).to.deep.equal(['Paid', '0.00']);
    page = await agent.get(`/viewinvoice.php?id=${annInvoice}`).expect(200);
    expect(page.text).to.include('status-paid');
  });

  it('refuses amounts that are not a positive decimal or exceed the balance, and pays nothing', async () => {
    const { agent } = await clientLogin(w.app);
    for (const amount of ['0', '-1', '1.234', 'abc', '', '1e3', '19.96']) {
      const res = await pay(agent, annInvoice, { pay: 'partial', amount }, 400);
      expect(res.text).to.match(/Enter an amount greater than zero|must not be more than the balance/);
    }
    expect(await payments()).to.equal(0);
  });

  it('pays once when the same payment form is sent twice', async () => {
    const { agent } = await clientLogin(w.app);
    const page = await agent.get(`/viewinvoice.php?id=${annInvoice}`).expect(200);
    const form = { token: tokenOf(page.text), nonce: nonceOn(page.text), pay: 'partial', amount: '2.00' };
    await agent.post(`/viewinvoice.php?id=${annInvoice}`).type('form').send(form).expect(303);
    await agent.post(`/viewinvoice.php?id=${annInvoice}`).type('form').send(form).expect(303);
    expect((await getInvoice(annInvoice)).balance).to.equal('17.95');
  });

  it('refuses a payment without the CSRF token', async () => {
    const { agent } = await clientLogin(w.app);
    await agent.post(`/viewinvoice.php?id=${annInvoice}`).type('form').send({ pay: 'full' }).expect(403);
    expect(await payments()).to.equal(0);
  });

  it('shows the panels ClientAreaHomepagePanels adds, in their order, with their HTML and safe links', async () => {
    w.panel.hooks.add('ClientAreaHomepagePanels', 1, (panels: MenuItem) => {
      const usage = panels.addChild('usage', {
        label: 'Bandwidth <this month>',
        order: 50,
        bodyHtml: '<p id="usage-body">6.000 TB of 5.000 TB</p>',
        extras: { 'btn-link': 'index.php?m=overusage', 'btn-text': 'Details' },
      });
      usage.addChild('daily', { label: 'Daily figures', uri: 'index.php?m=overusage&a=daily' });
      usage.addChild('evil', { label: 'Evil', uri: 'javascript:alert(1)' });
      panels.getChild('Invoices')?.setOrder(10);
    });
    const { agent } = await clientLogin(w.app);
    const home = await agent.get('/clientarea.php').expect(200);
    expect(home.text).to.include('<p id="usage-body">6.000 TB of 5.000 TB</p>');
    expect(home.text).to.include('Bandwidth &lt;this month&gt;');
    expect(home.text)
      .to.include('href="index.php?m=overusage&amp;a=daily"')
      .and.include('href="index.php?m=overusage"');
    expect(home.text).to.not.include('javascript:');
    const order = [
      'data-panel="Invoices"',
      'data-panel="usage"',
      'data-panel="Active Products/Services"',
    ].map((s) => home.text.indexOf(s));
    expect(order.every((i) => i > 0)).to.equal(true);
    expect(order).to.deep.equal([...order].sort((a, b) => a - b));
  });

  it('shows the ClientAreaProductDetailsOutput HTML on the service page, with the service it was given', async () => {
    w.panel.hooks.add(
      'ClientAreaProductDetailsOutput',
      1,
      (vars: { service: { id: number; userid: number; domain: string; amount: string } }) =>
        `<div id="pd-hook">service ${vars.service.id} of ${vars.service.userid}: ${vars.service.domain} at ${vars.service.amount}</div>`,
    );
    const { agent } = await clientLogin(w.app);
    const page = await agent.get(`/clientarea.php?action=productdetails&id=${w.story.serviceId}`).expect(200);
    expect(page.text).to.include(
      `<div id="pd-hook">service ${w.story.serviceId} of ${w.story.clientId}: vps1.example.net at 19.95</div>`,
    );
    expect(page.text).to.include('VPS 5 TB').and.include('€19.95').and.include('Monthly');
    // the custom field vserverid is not admin-only, so the client sees it
    expect(page.text).to.include('vserverid').and.include('101');
  });

  it('shows a Dutch client the labels and amounts in Dutch', async () => {
    const { agent } = await clientLogin(w.app, JAN);
    const home = await agent.get('/clientarea.php').expect(200);
    expect(home.text)
      .to.include('Mijn diensten')
      .and.include('Mijn facturen')
      .and.include('€\u00a024,50')
      .and.include('Onbetaald');
    expect(home.text).to.include('<html lang="nl">');
  });

  it('escapes what clients and lines say: a name with <script> is shown as text', async () => {
    const evil = await addClient(
      w.knex,
      {
        firstname: '<script>alert(1)</script>',
        lastname: '"><img src=x onerror=alert(2)>',
        email: 'evil@example.net',
        passwordHash: await hashClientPassword('evil-password'),
      },
      w.clock.now(),
      ZONE,
    );
    await invoiceFor(w, evil, [['<b>bold</b> & co', '1.00']]);
    const { agent } = await clientLogin(w.app, { email: 'evil@example.net', password: 'evil-password' });
    const home = await agent.get('/clientarea.php').expect(200);
    expect(home.text)
      .to.include('&lt;script&gt;alert(1)&lt;/script&gt;')
      .and.include('&#34;&gt;&lt;img src=x onerror=alert(2)&gt;');
    expect(home.text).to.not.include('<script>alert').and.not.include('<img src=x');
    const id = Number((await w.knex('tblinvoices').where({ userid: evil }).first('id'))!.id);
    const inv = await agent.get(`/viewinvoice.php?id=${id}`).expect(200);
    expect(inv.text).to.include('&lt;b&gt;bold&lt;/b&gt; &amp; co');
    const admin = await adminLogin(w.app);
    for (const path of [
      '/admin/clients.php',
      `/admin/clientssummary.php?userid=${evil}`,
      '/admin/invoices.php',
      `/admin/invoices.php?action=edit&id=${id}`,
    ]) {
      const res = await admin.agent.get(path).expect(200);
      expect(res.text, path)
        .to.not.include('<script>alert')
        .and.not.include('<img src=x')
        .and.not.include('<b>bold');
      expect(res.text, path).to.include('&lt;script&gt;');
    }
  });

  it('pages through the lists', async () => {
    const web = await buildWeb(db().knex, { web: { perPage: 2 } });
    for (let i = 0; i < 5; i++) await invoiceFor(web, web.story.clientId, [[`Line ${i}`, '1.00']]);
    const { agent } = await clientLogin(web.app);
    const first = await agent.get('/clientarea.php?action=invoices').expect(200);
    expect(first.text.match(/viewinvoice\.php\?id=\d+"/g)).to.have.length(2);
    expect(first.text).to.include('1–2 / 5').and.include('href="clientarea.php?action=invoices&amp;page=2"');
    const last = await agent.get('/clientarea.php?action=invoices&page=3').expect(200);
    expect(last.text.match(/viewinvoice\.php\?id=\d+"/g)).to.have.length(1);
    expect(last.text).to.include('5–5 / 5').and.not.include('rel="next"');
    // a page past the end shows the last one
    const beyond = await agent.get('/clientarea.php?action=invoices&page=999').expect(200);
    expect(beyond.text).to.include('5–5 / 5');
  });

  it('needs a login for every client page', async () => {
    for (const path of [
      '/clientarea.php',
      `/viewinvoice.php?id=${annInvoice}`,
      `/clientarea.php?action=productdetails&id=${w.story.serviceId}`,
    ]) {
      const res = await request(w.app).get(path).expect(303);
      expect(res.headers.location).to.match(/^\/login\.php\?goto=/);
    }
  });
});
