import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { BrowserContext, Page } from 'playwright-core';
import { loadConfig } from '../../cli/config.js';
import { serveDemo, type RunningDemo } from '../../cli/serve-demo.js';
import { createLogger } from '../../module/adapters/logger.js';
import { launchChromium, measureLayout, needChromium, SHOTS, type Browser } from '../support/browser.js';

/**
 * The demo app in headless Chromium (Debian's; never a downloaded browser): Pieter, the seed
 * thread's client, opens the widget, sees the chart, disputes his May overusage and sees the line
 * held; the admin resolves it from the queue with a preview of the new amount (the page's script
 * asks the JSON API). Screenshots go to test-output/screenshots/. Skipped without Chromium, unless
 * OVERUSAGE_TEST_REQUIRE_BROWSER=1, which makes a missing browser a failure.
 */

describe('the widget and the tab in a browser (headless Chromium)', function () {
  this.timeout(120_000);
  let dataDir = '';
  let browser: Browser | null = null;
  let demo: RunningDemo | null = null;
  let ctx: BrowserContext | null = null;
  const problems: string[] = [];

  before(async function () {
    needChromium(this);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-browser-'));
    const config = loadConfig({ OVERUSAGE_DATA_DIR: dataDir, OVERUSAGE_LOG_LEVEL: 'error' });
    demo = await serveDemo(config, createLogger({ level: 'error' }), { host: '127.0.0.1', port: 0 });
    browser = await launchChromium({ width: 1100, height: 900 });
    ctx = browser.ctx;
  });

  after(async () => {
    await browser?.close();
    await demo?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const watch = (page: Page) => {
    // a script refused by the CSP, a failed asset or an uncaught error is a failure of the page
    page.on('console', (m) => {
      if (m.type() === 'error' && !/^Failed to load resource/.test(m.text()))
        problems.push(`${page.url()}: ${m.text()}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) problems.push(`${r.status()} ${r.url()}`);
    });
    page.on('pageerror', (e) => problems.push(`${page.url()}: ${e.message}`));
    return page;
  };

  async function loginAs(page: Page, url: string, user: string, password: string) {
    await page.goto(url);
    await page.fill('input[name=username]', user);
    await page.fill('input[name=password]', password);
    await Promise.all([page.waitForNavigation(), page.click('form button[type=submit]')]);
  }

  it('lets a client open the widget, see the chart, dispute a line and see it held', async () => {
    const page = watch(await ctx!.newPage());
    await loginAs(page, `${demo!.url}/login.php`, 'pieter@example.be', 'demo');
    await page.goto(`${demo!.url}/index.php?m=overusage`);
    expect(await page.locator('h1').innerText()).to.equal('Dataverkeer');
    // this period's chart: the days measured so far, drawn
    expect(await page.locator('.ou-chart svg rect.ou-bar-measured').count()).to.be.greaterThan(0);
    expect(await page.locator('.ou-meter svg').isVisible()).to.equal(true);
    // May, the disputed period, day by day
    await Promise.all([
      page.waitForNavigation(),
      page.getByRole('link', { name: 'Dagcijfers van deze periode tonen' }).click(),
    ]);
    // (the chart's heading: the widget also has a spending-cap block with a heading of its own)
    expect(await page.locator('#overusage h3', { hasText: 'Verkeer per dag' }).innerText()).to.match(
      /Verkeer per dag, 1–31 mei 2013/,
    );
    expect(await page.locator('.ou-chart svg rect.ou-bar').count()).to.equal(31);
    await page.locator('details.ou-days > summary').click();
    expect(await page.locator('details.ou-days table tbody tr').count()).to.equal(31);
    await page.screenshot({ path: path.join(SHOTS, 'widget.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    // (a string: the test is compiled without the DOM's types)
    expect(
      await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth + 1'),
      'no sideways scrolling on a phone',
    ).to.equal(true);
    await page.screenshot({ path: path.join(SHOTS, 'widget-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1100, height: 900 });

    const line = page.locator('li.ou-line').first();
    expect(await line.getAttribute('data-state')).to.equal('placed');
    expect(await line.locator('.ou-countdown').innerText()).to.match(/^nog \d+ dagen$/);
    await line.locator('details.ou-dispute > summary').click();
    await line
      .locator('textarea[name=reason]')
      .fill('Ik zie niet waar dit verkeer vandaan komt; ik wil de dagcijfers.');
    await Promise.all([
      page.waitForNavigation(),
      line.getByRole('button', { name: 'Bezwaar indienen' }).click(),
    ]);
    expect(await page.locator('.ou-flash-success').innerText()).to.equal(
      'Uw bezwaar is ontvangen. De regel is opgeschort zolang we ernaar kijken.',
    );
    const held = page.locator('li.ou-line').first();
    expect(await held.getAttribute('data-state')).to.equal('held');
    expect(await held.locator('.ou-state').innerText()).to.equal('opgeschort, in betwisting');
    await page.screenshot({ path: path.join(SHOTS, 'widget-held.png'), fullPage: true });

    // the home page carries the compact panel
    await page.goto(`${demo!.url}/clientarea.php`);
    expect(await page.locator('[data-panel="overusage"] .ou-meter').count()).to.be.greaterThan(0);
    expect(await page.locator('[data-panel="overusage"]').innerText()).to.include('1 regel in betwisting');
    await page.locator('[data-panel="overusage"]').screenshot({ path: path.join(SHOTS, 'home-panel.png') });
    await page.close();
  });

  // the admin's side of the dispute, then the client's, in order (each step goes on from the last)
  let page: Page;
  let client: Page;

  it("counts the open dispute on the admin's dashboard and lists it in the queue with the client's words", async () => {
    page = watch(await ctx!.newPage());
    await loginAs(page, `${demo!.url}/admin/login.php`, 'admin', 'demo-admin');
    await page.goto(`${demo!.url}/admin/addonmodules.php?module=overusage`);
    expect(await page.locator('.ou-stat').nth(1).innerText()).to.match(/^1\s+open dispute$/);
    await page.screenshot({ path: path.join(SHOTS, 'tab-dashboard.png'), fullPage: true });
    await page.getByRole('link', { name: 'Disputes', exact: true }).click();
    const row = page.locator('tr[data-dispute]').first();
    expect(await row.innerText()).to.include('Ik zie niet waar dit verkeer vandaan komt');
    await page.screenshot({ path: path.join(SHOTS, 'tab-queue.png'), fullPage: true });
    await Promise.all([page.waitForNavigation(), row.locator('a').first().click()]);
  });

  it('previews a 50 % share of €500.00 from the API as €250.00, with no decision chosen for the admin', async () => {
    const form = page.locator('form.ou-resolve');
    // no decision is made for the admin, and an empty preview takes no room
    expect(await form.locator('input[name=to]:checked').count()).to.equal(0);
    expect(await form.locator('[data-preview]').isVisible()).to.equal(false);
    await form.locator('input[name=to][value=adjusted]').check();
    await form.locator('select[name=kind]').selectOption('share');
    await form.locator('input[name=percent]').fill('50');
    // the page's script asks the API for the new amount (same origin, bearer token, CSP intact)
    await page.locator('[data-preview]', { hasText: 'New amount: €250.00' }).waitFor({ timeout: 10_000 });
    await page.screenshot({ path: path.join(SHOTS, 'tab-dispute.png'), fullPage: true });
  });

  it('asks to confirm naming both amounts, then adjusts the dispute: €500.00 → €250.00', async () => {
    const form = page.locator('form.ou-resolve');
    await form.locator('textarea[name=note]').fill('half: the first days were a backup gone wrong');
    // the decision is confirmed, naming the amount before and after
    const asked: string[] = [];
    page.once('dialog', (d) => {
      asked.push(d.message());
      void d.accept();
    });
    await Promise.all([
      page.waitForNavigation(),
      form.getByRole('button', { name: 'Resolve the dispute' }).click(),
    ]);
    expect(asked).to.have.length(1);
    expect(asked[0]).to.match(/^Adjust dispute \d+ from €500\.00 to €250\.00\?$/);
    expect(await page.locator('.ou-flash-success').innerText()).to.match(
      /^Dispute \d+ adjusted: the line now bills €250\.00 \(was €500\.00\)\.$/,
    );
    expect(await page.locator('[data-dispute][data-state]').getAttribute('data-state')).to.equal('adjusted');
  });

  it('shows the client the line at €250,00 with €500,00 struck through, no form left, May billed at €250,00', async () => {
    // the client sees the outcome
    client = watch(await ctx!.newPage());
    await client.goto(`${demo!.url}/index.php?m=overusage`);
    const line = client.locator('li.ou-line').first();
    expect(await line.getAttribute('data-state')).to.equal('adjusted');
    expect(await line.innerText()).to.match(/Aangepast op \d+ juni 2013 van €\s500,00 naar €\s250,00/);
    // every figure on the widget is what the line bills now: 50 % of €500,00 = €250,00, the old
    // amount struck through, the line's own text saying so, the past period billed at €250,00
    const nbsp = (t: string) => t.replace(/[\u00a0\u202f]/g, ' ');
    expect(nbsp(await line.locator('.ou-amount').innerText())).to.equal('€ 250,00');
    expect(nbsp(await line.locator('s').innerText())).to.equal('€ 500,00');
    expect(await line.locator('.ou-state').innerText()).to.equal('aangepast na betwisting');
    expect(nbsp(await line.locator('.ou-desc').innerText())).to.match(
      / — verlaagd naar € 250,00 na beoordeling van uw bezwaar \[OU-[0-9A-F]+\]$/,
    );
    expect(await line.locator('form.ou-dispute-form').count(), 'no dispute form on a decided line').to.equal(
      0,
    );
    expect(
      await line.locator('input[name=do][value=withdraw]').count(),
      'nothing to withdraw any more',
    ).to.equal(0);
    const may = client
      .locator('section[aria-labelledby^="ou-past-"] tbody tr', { hasText: 'mei 2013' })
      .first();
    expect(nbsp(await may.innerText())).to.include('Gefactureerd: € 250,00 (aangepast na betwisting)');
    expect(nbsp(await client.locator('#overusage').innerText())).not.to.match(/opgeschort|in betwisting/);
    await client.screenshot({ path: path.join(SHOTS, 'widget-decided.png'), fullPage: true });
  });

  it("drops the line from the home panel's count, with no error in any page and every screenshot taken", async () => {
    // the home panel no longer counts a line under dispute
    await client.goto(`${demo!.url}/clientarea.php`);
    expect(await client.locator('[data-panel="overusage"]').innerText()).not.to.include('in betwisting');
    await client.close();
    await page.close();
    expect(problems, 'errors in the pages').to.deep.equal([]);
    for (const f of [
      'widget.png',
      'widget-phone.png',
      'widget-held.png',
      'home-panel.png',
      'tab-dashboard.png',
      'tab-queue.png',
      'tab-dispute.png',
    ]) {
      expect(fs.statSync(path.join(SHOTS, f)).size, f).to.be.greaterThan(5000);
    }
  });

  it("shows the admin tab's pages with the panel's names: clients by name, services by hostname and product, masters by name", async () => {
    await ctx!.clearCookies();
    const page = watch(await ctx!.newPage());
    await loginAs(page, `${demo!.url}/admin/login.php`, 'admin', 'demo-admin');
    const tab = `${demo!.url}/admin/addonmodules.php?module=overusage`;
    const bare = /\b(client|service|master) #?\d+\b/i;
    for (const a of ['dashboard', 'services', 'disputes&list=all', 'lines']) {
      await page.goto(`${tab}&a=${a}`);
      const text = await page.locator('#overusage-admin').innerText();
      // every client and service reference on the page is named; the id stays beside it
      const clients = await page.locator('[data-client-ref]').allInnerTexts();
      const services = await page.locator('[data-service-ref]').allInnerTexts();
      expect(clients.length + services.length, `${a}: references`).to.be.greaterThan(0);
      for (const c of clients) expect(c, `${a}: a client`).to.match(/^[A-Z][a-z]+ [A-Z][a-z]+/);
      for (const x of services) expect(x, `${a}: a service`).to.match(/^vps\d{3}\.example\.net · VPS /);
      expect(text, a).to.not.match(bare);
    }
    await page.goto(`${tab}&a=lines`);
    expect(await page.locator('[data-client-ref]').allInnerTexts()).to.include('Pieter Timmermans');
    expect(await page.locator('[data-service-ref]').allInnerTexts()).to.include(
      'vps101.example.net · VPS 5 TB',
    );
    // a service's page: its client and its master by name
    await Promise.all([
      page.waitForNavigation(),
      page.locator('[data-service-ref]', { hasText: 'vps101.example.net' }).first().click(),
    ]);
    const facts = await page.locator('#overusage-admin dl').first().innerText();
    expect(facts).to.include('Pieter Timmermans');
    expect(facts).to.match(/demo-solusvm-1, server 101/);
    await page.screenshot({ path: path.join(SHOTS, 'tab-service-names.png'), fullPage: true });
    await page.goto(`${tab}&a=services`);
    await page.screenshot({ path: path.join(SHOTS, 'tab-services-names.png'), fullPage: true });
    await page.close();
    expect(problems, 'errors in the pages').to.deep.equal([]);
  });

  it('lets an admin change a product and test a master with forms, on a laptop and on a phone', async () => {
    await ctx!.clearCookies();
    const page = watch(await ctx!.newPage());
    await loginAs(page, `${demo!.url}/admin/login.php`, 'admin', 'demo-admin');
    const tab = `${demo!.url}/admin/addonmodules.php?module=overusage`;
    const pid = Number((await demo!.demo.db.knex('tblproducts').where({ name: 'VPS 5 TB' }).first('id'))!.id);
    await page.goto(`${tab}&a=settings`);
    await page.locator(`details[data-product="${pid}"] > summary`).click();
    await Promise.all([
      page.waitForNavigation(),
      page.getByRole('link', { name: 'Edit the billing of VPS 5 TB' }).click(),
    ]);
    const form = page.locator('[data-product-form] form');
    expect(await form.locator('input[name=allowance]').inputValue()).to.equal('5');
    expect(await form.locator('select[name=allowance_unit]').inputValue()).to.equal('TB');
    await page.screenshot({ path: path.join(SHOTS, 'tab-product-form.png'), fullPage: true });
    // a wrong figure: refused beside its field, the page keeps what was typed
    await form.locator('input[name=allowance]').fill('5,5');
    await Promise.all([
      page.waitForNavigation(),
      form.getByRole('button', { name: 'Save the billing settings' }).click(),
    ]);
    expect(await page.locator('[data-error-for=allowance]').innerText()).to.equal(
      'the allowance: a number like 5 or 2.5, not "5,5"',
    );
    expect(await page.locator('input[name=allowance]').getAttribute('aria-invalid')).to.equal('true');
    await page.locator('input[name=allowance]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SHOTS, 'tab-product-refused.png'), fullPage: true });
    await page.locator('input[name=allowance]').fill('5.5');
    await Promise.all([
      page.waitForNavigation(),
      page.getByRole('button', { name: 'Save the billing settings' }).click(),
    ]);
    expect(await page.locator('.ou-flash-success').innerText()).to.equal(
      `Billing settings of product ${pid} saved.`,
    );
    // 5.5 TB = 5 500 000 000 000 bytes
    expect((await demo!.demo.module.billing.getProduct(pid))!.allowance).to.equal('5500000000000');

    // the demo's first master: its form, the key never shown, the test's result once
    const m = (await demo!.demo.module.masters.list()).find((x) => x.name === 'demo-solusvm-1')!;
    await page.goto(`${tab}&a=master&id=${m.id}`);
    expect(await page.locator('input[name=api_key]').inputValue()).to.equal('');
    await Promise.all([
      page.waitForNavigation(),
      page.getByRole('button', { name: 'Test the connection' }).click(),
    ]);
    expect(await page.locator('[data-report]').count()).to.equal(1);
    expect(await page.locator('[data-report]').innerText()).to.match(/\(\d+ ms, 4 servers\)/);
    expect(await page.content()).to.not.include('demo-key');
    await page.screenshot({ path: path.join(SHOTS, 'tab-master-form.png'), fullPage: true });

    // on a phone the tab's pages stay within the screen (tables scroll inside their cards)
    await page.setViewportSize({ width: 390, height: 844 });
    for (const a of ['dashboard', 'services', 'settings', `product&id=${pid}`, `master&id=${m.id}`]) {
      await page.goto(`${tab}&a=${a}`);
      const l = await measureLayout(page);
      expect(l.scrollWidth, `${a}: no sideways scrolling`).to.be.at.most(l.clientWidth);
    }
    await page.screenshot({ path: path.join(SHOTS, 'tab-master-form-phone.png'), fullPage: true });
    await page.close();
    expect(problems, 'errors in the pages').to.deep.equal([]);
  });

  it('lets an admin decide a counter drop, and shows the client in words what happened to his counter', async () => {
    // Anna's counter was reset by hand on the master at 14:00 on 15 May: a drop no program can read
    await ctx!.clearCookies();
    const page = watch(await ctx!.newPage());
    page.on('dialog', (d) => void d.accept());
    await loginAs(page, `${demo!.url}/admin/login.php`, 'admin', 'demo-admin');
    await page.goto(`${demo!.url}/admin/addonmodules.php?module=overusage`);
    expect(await page.locator('[data-waiting-anomalies]').innerText()).to.match(
      /^1\s+counter drop to decide/,
    );
    await Promise.all([
      page.waitForNavigation(),
      page.getByRole('link', { name: 'Anomalies', exact: true }).click(),
    ]);
    const row = page.locator('tr[data-kind="mid period drop"][data-status="open"]');
    expect(await row.count()).to.equal(1);
    expect(await row.innerText()).to.match(
      /counter dropped from [\d.]+ GB to [\d.]+ GB \(read 2013-05-15\): a manual reset or a correction, not booked until decided/,
    );
    await page.screenshot({ path: path.join(SHOTS, 'tab-anomalies.png'), fullPage: true });
    await row.locator('input[name=decision][value=reset]').check();
    await row.locator('input[name=reason]').fill('the master log shows a reset by hand at 14:00');
    await Promise.all([page.waitForNavigation(), row.getByRole('button', { name: 'Decide' }).click()]);
    expect(await page.locator('.ou-flash-success').innerText()).to.match(/^Anomaly \d+: a reset\. /);
    expect(await page.locator('tr[data-kind="mid period drop"][data-status="open"]').count()).to.equal(0);
    await page.close();

    // Pieter is still logged in from the first test: Anna logs in afresh
    await ctx!.clearCookies();
    const client = watch(await ctx!.newPage());
    await loginAs(client, `${demo!.url}/login.php`, 'anna@example.net', 'demo');
    await client.goto(`${demo!.url}/index.php?m=overusage`);
    const notes = client.locator('tr.ou-period-notes');
    expect(await notes.innerText()).to.include(
      'The counter was reset on 15 May 2013; traffic between 23:50 on 14 May 2013 and the reset was not measured and is not billed.',
    );
    await client.screenshot({ path: path.join(SHOTS, 'widget-counter-note.png'), fullPage: true });
    await client.close();
    expect(problems, 'errors in the pages').to.deep.equal([]);
  });

  it('offers Chris no dispute of his line once his renewal is refunded, and says why', async () => {
    // Chris (over three months in a row) has an undisputed line on his paid June renewal, in its
    // window until 12 June; the provider refunds that renewal: nothing is owed for the line any more
    const { knex } = demo!.demo.db;
    const chris = await knex('tblclients').where({ email: 'chris@example.net' }).first('id');
    const line = await knex('mod_overusage_lines')
      .where({ client_id: chris.id })
      .orderBy('id', 'desc')
      .first();
    expect(String(line.status)).to.equal('placed');
    await demo!.demo.panel.api.updateInvoice({ invoiceId: Number(line.invoice_id), status: 'Refunded' });
    await ctx!.clearCookies();
    const page = watch(await ctx!.newPage());
    await loginAs(page, `${demo!.url}/login.php`, 'chris@example.net', 'demo');
    await page.goto(`${demo!.url}/index.php?m=overusage`);
    const item = page.locator(`li.ou-line[data-line="${line.id}"]`);
    expect(await item.getAttribute('data-state')).to.equal('placed');
    expect(await item.locator('details.ou-dispute').count(), 'no dispute offered').to.equal(0);
    expect(await item.locator('.ou-refusal').innerText()).to.equal(
      `Invoice #${line.invoice_id}, which this line is on, was refunded to you: you owe nothing for the line, so there is nothing to dispute.`,
    );
    await page.close();
    expect(problems, 'errors in the pages').to.deep.equal([]);
  });
});
