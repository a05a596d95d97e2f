import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { Page, Route } from 'playwright-core';
import { loadConfig } from '../../cli/config.js';
import { serveDemo, type RunningDemo } from '../../cli/serve-demo.js';
import { createLogger } from '../../module/adapters/logger.js';
import { launchChromium, needChromium, watchPage, type Browser } from '../support/browser.js';

/**
 * The question the admin answers before a dispute is adjusted names the amount that will be billed,
 * never one previewed for other figures. Pieter's May line of the demo (€500.00) under dispute; the
 * admin previews a 50 % share (€500.00 × 50 % = €250.00), then asks for an amount set by hand of
 * €123.45 instead and resolves before the preview of it is back: the question may not say €250.00.
 * The page's previews go to the JSON API; the test holds them (page.route) to choose when and in
 * which order they come back.
 */
describe('the adjust confirmation names the amount being decided (headless Chromium)', function () {
  this.timeout(120_000);
  let dataDir = '';
  let demo: RunningDemo | null = null;
  let browser: Browser | null = null;
  let page: Page;
  let disputeId = 0;
  const problems: string[] = [];
  /** previews held back, in the order asked, each with the body it asked with */
  const held: Array<{ route: Route; body: string }> = [];
  let holding = false;
  const asked: string[] = [];
  /** the next question is answered yes (the decision goes through); every other one no */
  let acceptNext = false;

  before(async function () {
    needChromium(this);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-confirm-'));
    const config = loadConfig({ OVERUSAGE_DATA_DIR: dataDir, OVERUSAGE_LOG_LEVEL: 'error' });
    demo = await serveDemo(config, createLogger({ level: 'error' }), { host: '127.0.0.1', port: 0 });
    const { knex } = demo.demo.db;
    const pieter = await knex('tblclients').where({ email: 'pieter@example.be' }).first('id');
    const line = await knex('mod_overusage_lines')
      .where({ client_id: pieter.id })
      .first('id', 'amount_minor');
    expect(Number(line.amount_minor), "Pieter's May line, €500.00").to.equal(50000);
    const opened = await demo.demo.module.disputes!.open({
      lineId: Number(line.id),
      reason: 'Ik herken dit verkeer niet.',
      actor: { type: 'client', id: String(pieter.id) },
    });
    if (!opened.ok) throw new Error(opened.message);
    disputeId = opened.value.id;
    browser = await launchChromium({ width: 390, height: 844 });
    page = watchPage(await browser.ctx.newPage(), problems);
    page.on('dialog', (d) => {
      asked.push(d.message());
      void (acceptNext ? d.accept() : d.dismiss());
    });
    await page.route('**/overusage/api/v1/admin/disputes/*/preview', async (route) => {
      if (holding) held.push({ route, body: route.request().postData() ?? '' });
      else await route.continue();
    });
    await page.goto(`${demo.url}/admin/login.php`);
    await page.fill('input[name=username]', 'admin');
    await page.fill('input[name=password]', 'demo-admin');
    await Promise.all([page.waitForNavigation(), page.click('form button[type=submit]')]);
    await page.goto(`${demo.url}/admin/addonmodules.php?module=overusage&a=dispute&id=${disputeId}`);
  });

  after(async () => {
    await browser?.close();
    await demo?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const form = () => page.locator('form.ou-resolve');
  const resolve = () => form().getByRole('button', { name: 'Resolve the dispute' }).click();

  it('previews a 50 % share as €250.00, then, with €123.45 typed and its preview not back, asks about "the new amount", not €250.00', async () => {
    await form().locator('input[name=to][value=adjusted]').check();
    await form().locator('select[name=kind]').selectOption('share');
    await form().locator('input[name=percent]').fill('50');
    await page.locator('[data-preview]', { hasText: 'New amount: €250.00' }).waitFor({ timeout: 10_000 });
    // the way and the figure change; the previews of them are held
    holding = true;
    await form().locator('select[name=kind]').selectOption('amount');
    await form().locator('input[name=amount]').fill('123.45');
    expect(await page.locator('[data-preview]').innerText(), 'no preview of other figures shown').to.equal(
      'Working out the new amount…',
    );
    await resolve();
    expect(asked).to.deep.equal([`Adjust dispute ${disputeId} from €500.00 to the new amount?`]);
    // dismissed: nothing decided
    expect(await page.locator('[data-dispute][data-state]').first().getAttribute('data-state')).to.equal(
      'open',
    );
  });

  it("keeps the latest figure's preview when an earlier one comes back after it", async () => {
    // one more figure typed: €100.00, then €123.45 again; the answers come back in the wrong order
    await form().locator('input[name=amount]').fill('100.00');
    await page.waitForTimeout(400);
    await form().locator('input[name=amount]').fill('123.45');
    await page.waitForTimeout(400);
    const bodies = held.map((h) => JSON.parse(h.body).adjustment.amount as string);
    expect(bodies.at(-1)).to.equal('123.45');
    expect(bodies).to.include('100.00');
    holding = false;
    // the last asked answered first and shown; then every earlier one (€123.45, €100.00) comes back
    const last = held.pop()!;
    await last.route.continue();
    await page.locator('[data-preview]', { hasText: 'New amount: €123.45' }).waitFor({ timeout: 10_000 });
    for (const h of held.splice(0)) {
      await h.route.continue();
      await h.route.request().response();
    }
    await page.waitForTimeout(300);
    expect(await page.locator('[data-preview]').innerText()).to.equal('New amount: €123.45 (set by hand)');
    expect(await form().getAttribute('data-new-amount')).to.equal('€123.45');
  });

  it("forgets a preview the page was sent with (the form's preview button) once the share is changed: 50 % → 40 %", async () => {
    // the preview button (a host without the API has only it): the page comes back with €250.00
    await form().locator('select[name=kind]').selectOption('share');
    await form().locator('input[name=percent]').fill('50');
    await Promise.all([
      page.waitForNavigation(),
      form().getByRole('button', { name: 'Preview the new amount' }).click(),
    ]);
    expect(await form().getAttribute('data-new-amount')).to.equal('€250.00');
    expect(await form().locator('input[name=percent]').inputValue()).to.equal('50');
    holding = true;
    await form().locator('input[name=percent]').fill('40');
    await resolve();
    // 40 % of €500.00 is €200.00, not the €250.00 the page came with
    expect(asked.at(-1)).to.equal(`Adjust dispute ${disputeId} from €500.00 to the new amount?`);
    holding = false;
    for (const h of held.splice(0)) await h.route.continue();
    await page.locator('[data-preview]', { hasText: 'New amount: €200.00' }).waitFor({ timeout: 10_000 });
    await resolve();
    expect(asked.at(-1)).to.equal(`Adjust dispute ${disputeId} from €500.00 to €200.00?`);
    // back to €123.45 by hand for the decision
    await form().locator('select[name=kind]').selectOption('amount');
    await form().locator('input[name=amount]').fill('123.45');
    await page.locator('[data-preview]', { hasText: 'New amount: €123.45' }).waitFor({ timeout: 10_000 });
  });

  it('asks about €123.45 once its preview is back, and bills €123.45 (was €500.00)', async () => {
    await resolve();
    expect(asked.at(-1)).to.equal(`Adjust dispute ${disputeId} from €500.00 to €123.45?`);
    // dismissed; the next one is accepted
    acceptNext = true;
    await Promise.all([page.waitForNavigation(), resolve()]);
    expect(asked.at(-1)).to.equal(`Adjust dispute ${disputeId} from €500.00 to €123.45?`);
    expect(await page.locator('.ou-flash-success').innerText()).to.equal(
      `Dispute ${disputeId} adjusted: the line now bills €123.45 (was €500.00).`,
    );
    expect(problems, 'errors in the page').to.deep.equal([]);
  });
  it("on a phone, a paid line's refund is chosen with one tap right after the previewed amount: the preview does not jump when the amount field loses focus", async () => {
    // Chris's March line (€120.68) on his paid invoice, its window closed on 12 May: the admin opens
    // a dispute anyway (override) and reduces it by hand to €20.68: €100.00 to give back
    const { knex } = demo!.demo.db;
    const chris = await knex('tblclients').where({ email: 'chris@example.net' }).first('id');
    const line = await knex('mod_overusage_lines').where({ client_id: chris.id }).orderBy('id').first('id');
    const opened = await demo!.demo.module.disputes!.open({
      lineId: Number(line.id),
      reason: 'backup traffic, said on the phone',
      actor: { type: 'admin', id: '1' },
      overrideReason: 'goodwill',
    });
    if (!opened.ok) throw new Error(opened.message);
    await page.goto(`${demo!.url}/admin/addonmodules.php?module=overusage&a=dispute&id=${opened.value.id}`);
    await form().locator('input[name=to][value=adjusted]').check();
    await form().locator('select[name=kind]').selectOption('amount');
    await form().locator('input[name=amount]').fill('20.68');
    await page.locator('[data-preview]', { hasText: 'New amount: €20.68' }).waitFor({ timeout: 10_000 });
    // the focus is still in the amount field: the tap on "a refund" blurs it first
    const refund = form().locator('input[name=settlement][value=refund]');
    await refund.click();
    expect(await refund.isChecked(), 'the refund chosen').to.equal(true);
    expect(await page.locator('[data-preview]').innerText()).to.equal('New amount: €20.68 (set by hand)');
    acceptNext = true;
    await Promise.all([page.waitForNavigation(), resolve()]);
    expect(asked.at(-1)).to.equal(`Adjust dispute ${opened.value.id} from €120.68 to €20.68?`);
    // €120.68 − €20.68 = €100.00 to refund by hand
    expect(await page.locator('.ou-flash-success').innerText()).to.match(
      new RegExp(
        `^Dispute ${opened.value.id} adjusted: the line now bills €20\\.68 \\(was €120\\.68\\)\\. Refund €100\\.00 to the client yourself`,
      ),
    );
    // what Chris reads: the refund of €100.00 by the admin, never a date to pay by (he had paid)
    const mails = await knex('tblemails').where({ userid: chris.id }).orderBy('id').select('message');
    const [openedMail, decided] = mails.slice(-2).map((m) => String(m.message));
    expect(openedMail).to.include(
      `You had paid the line (€120.68) already: if it is reduced or waived, you get the difference back.`,
    );
    expect(decided).to.include(
      'is reduced from €120.68 to €20.68; you had paid it already, so we refund €100.00 to you.',
    );
    expect(decided).not.to.include('due on');
    const client = watchPage(await browser!.ctx.newPage(), problems);
    await client.goto(`${demo!.url}/login.php`);
    await client.fill('input[name=username]', 'chris@example.net');
    await client.fill('input[name=password]', 'demo');
    await Promise.all([client.waitForNavigation(), client.click('form button[type=submit]')]);
    await client.goto(`${demo!.url}/index.php?m=overusage`);
    const item = client.locator(`li.ou-line[data-line="${line.id}"]`);
    expect(await item.innerText()).to.include(
      'Decided on 4 June 2013: the line now bills €20.68; you had paid it already, so we refund €100.00 to you.',
    );
    expect(await item.innerText()).not.to.include('due on');
    // his April line (€103.88, on his paid June renewal, in its window until 12 June): disputed on
    // the widget, he is told the difference comes back, not that a line he paid is "on hold"
    const april = client.locator('li.ou-line:has(details.ou-dispute)').first();
    await april.locator('details.ou-dispute > summary').click();
    expect(await april.locator('.ou-hint').innerText()).to.include(
      'You have paid this invoice: nothing is held back, and if the line is reduced or waived you get the difference back.',
    );
    expect(await april.locator('.ou-hint').innerText()).not.to.include('on hold');
    await april.locator('textarea[name=reason]').fill('the same backup traffic in April');
    await Promise.all([
      client.waitForNavigation(),
      april.getByRole('button', { name: 'Send the dispute' }).click(),
    ]);
    expect(await client.locator('.ou-flash-success').innerText()).to.equal(
      'Your dispute was received. You had paid this line already: if it is reduced or waived, you get the difference back.',
    );
    await client.close();
    expect(problems, 'errors in the page').to.deep.equal([]);
  });
});
