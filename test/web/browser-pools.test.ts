import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { BrowserContext, Page } from 'playwright-core';
import { loadConfig } from '../../cli/config.js';
import { serveDemo, type RunningDemo } from '../../cli/serve-demo.js';
import { createLogger } from '../../module/adapters/logger.js';
import { toNum } from '../../module/adapters/rows.js';
import {
  launchChromium,
  measureLayout,
  needChromium,
  SHOTS,
  watchPage,
  type Browser,
} from '../support/browser.js';

/**
 * The admin tab's "Pools & caps" page in headless Chromium (Debian's, launched as in
 * test/web/browser.test.ts) on the demo: the admin puts "VPS 2 TB" in a pool billed per VPS, sees
 * Anna's pool once the cron has recorded its members, sets a €25.00 cap for Anna with the form and
 * lifts it with the row's button; the page fits a phone. Skipped without Chromium unless
 * OVERUSAGE_TEST_REQUIRE_BROWSER=1.
 */
describe('pools and caps on the admin tab in a browser (headless Chromium)', function () {
  this.timeout(120_000);
  let dataDir = '';
  let browser: Browser | null = null;
  let demo: RunningDemo | null = null;
  let ctx: BrowserContext | null = null;
  const problems: string[] = [];

  before(async function () {
    needChromium(this);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-browser-pools-'));
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

  async function loginAsAdmin(page: Page) {
    await page.goto(`${demo!.url}/admin/login.php`);
    await page.fill('input[name=username]', 'admin');
    await page.fill('input[name=password]', 'demo-admin');
    await Promise.all([page.waitForNavigation(), page.click('form button[type=submit]')]);
  }

  it('puts a product in a pool, shows the pool, and sets and lifts a client’s cap with forms', async () => {
    const page = watchPage(await ctx!.newPage(), problems);
    await loginAsAdmin(page);
    const knex = demo!.demo.db.knex;
    const pid = toNum((await knex('tblproducts').where({ name: 'VPS 2 TB' }).first('id'))!.id);
    const anna = toNum((await knex('tblhosting').where({ domain: 'vps102.example.net' }).first('id'))!.id);
    await page.goto(`${demo!.url}/admin/addonmodules.php?module=overusage`);
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Pools & caps' }).click()]);
    expect(await page.locator('[data-section=pool-products]').innerText()).to.include(
      'No product pools its services.',
    );

    const form = page.locator('form[data-form=pool]');
    await form.getByLabel('Product', { exact: true }).selectOption({ label: `VPS 2 TB (#${pid})` });
    await form.getByLabel(/^Pool name/).fill('main');
    await form
      .getByLabel("Bill the pool's overusage as")
      .selectOption({ label: 'a line per VPS, each its part' });
    await Promise.all([
      page.waitForNavigation(),
      form.getByRole('button', { name: 'Save the pool setting' }).click(),
    ]);
    expect(await page.locator('.ou-flash-success').innerText()).to.equal(
      'VPS 2 TB pools as "main", billed as a line per VPS.',
    );
    expect(await page.locator(`[data-pooled-product="${pid}"]`).innerText()).to.equal(
      `VPS 2 TB (#${pid}): pool main, billed as a line per VPS`,
    );
    expect((await demo!.demo.module.billing.getProduct(pid))!.poolLines).to.equal('per_service');

    // the cron records the members; Anna's pool (her one VPS 2 TB) shows with its figures
    await demo!.demo.module.pools.syncMembers();
    await page.reload();
    const annaPool = page.locator('[data-section=pools-now] tr', { hasText: 'Anna Smith' });
    expect(await annaPool.count()).to.equal(1);
    expect(await annaPool.innerText()).to.match(/vps102\.example\.net · VPS 2 TB/);
    expect(await annaPool.locator('[data-percent]').innerText()).to.match(/^\d+\.\d %$/);

    // a cap for Anna: €25.00, slowing the server down
    await page.locator('[data-section=caps] details > summary').click();
    const cap = page.locator('form[data-form=cap]');
    await cap.getByLabel('Service id').fill(String(anna));
    await cap.getByLabel('Cap in').selectOption({ label: "money (the client's currency)" });
    await cap.getByLabel(/^Amount/).fill('25.00');
    await cap.getByLabel('When reached').selectOption({ label: 'slow the server down' });
    await Promise.all([page.waitForNavigation(), cap.getByRole('button', { name: 'Set the cap' }).click()]);
    expect(await page.locator('.ou-flash-success').innerText()).to.equal(
      `Cap of €25.00 set on service ${anna} (slows the server down when reached).`,
    );
    const row = page.locator('[data-section=caps] tr[data-cap]', { hasText: 'Anna Smith' });
    expect(await row.innerText()).to.match(
      /Anna Smith.*vps102\.example\.net · VPS 2 TB.*€25\.00\s+slow the server down\s+active \(set /s,
    );
    await page.screenshot({ path: path.join(SHOTS, 'tab-pools.png'), fullPage: true });
    await Promise.all([page.waitForNavigation(), row.getByRole('button', { name: 'Lift' }).click()]);
    expect(await page.locator('.ou-flash-success').innerText()).to.equal(
      `The cap of service ${anna} is lifted; what it caused is put back.`,
    );
    expect(
      await page.locator('[data-section=caps] tr[data-cap]', { hasText: 'Anna Smith' }).innerText(),
    ).to.match(/lifted \(set .*, lifted /);
    expect(await knex('mod_overusage_caps').where({ service_id: anna, status: 'active' })).to.deep.equal([]);

    // the demo's upgrade suggestion (Chris, over his 500 GB three months running), not taken up
    expect(await page.locator('[data-section=upgrades] tr[data-upgrade]').allInnerTexts()).to.satisfy(
      (rows: string[]) =>
        rows.some((r) => /Chris Jones.*vps104\.example\.net · VPS 500 GB.*sent, .*not taken up/s.test(r)),
    );

    // on a phone the page stays within the screen
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    const l = await measureLayout(page);
    expect(l.scrollWidth, 'no sideways scrolling').to.be.at.most(l.clientWidth);
    await page.close();
    expect(problems, 'errors in the pages').to.deep.equal([]);
  });
});
