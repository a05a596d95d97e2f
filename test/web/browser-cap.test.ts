import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { chromium, type BrowserContext } from 'playwright-core';
import { loadConfig } from '../../cli/config.js';
import { serveDemo, type RunningDemo } from '../../cli/serve-demo.js';
import { createLogger } from '../../module/adapters/logger.js';

/**
 * A client sets and lifts his own spending cap on the widget in headless Chromium (Debian's, as in
 * test/web/browser.test.ts, launched the same way): Anna (English, about 40 % of her 2 TB) caps her
 * overusage at €25.00 with a throttle, sees it stated, and lifts it again. Skipped without Chromium
 * unless OVERUSAGE_TEST_REQUIRE_BROWSER=1.
 */
const CHROMIUM = process.env.OVERUSAGE_TEST_CHROMIUM ?? '/usr/bin/chromium';
const REQUIRE_BROWSER = process.env.OVERUSAGE_TEST_REQUIRE_BROWSER === '1';
const SHOTS = path.resolve(import.meta.dirname, '..', '..', 'test-output', 'screenshots');

describe('a spending cap set in a browser (headless Chromium)', function () {
  this.timeout(120_000);
  let dataDir = '';
  let profile = '';
  let demo: RunningDemo | null = null;
  let ctx: BrowserContext | null = null;

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      if (REQUIRE_BROWSER)
        throw new Error(`OVERUSAGE_TEST_REQUIRE_BROWSER=1 but there is no Chromium at ${CHROMIUM}`);
      this.skip();
    }
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-browser-cap-'));
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'chromium-profile-'));
    fs.mkdirSync(SHOTS, { recursive: true });
    const config = loadConfig({ OVERUSAGE_DATA_DIR: dataDir, OVERUSAGE_LOG_LEVEL: 'error' });
    demo = await serveDemo(config, createLogger({ level: 'error' }), { host: '127.0.0.1', port: 0 });
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1100, height: 900 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  after(async () => {
    await ctx?.close();
    await demo?.close();
    for (const d of [dataDir, profile]) if (d) fs.rmSync(d, { recursive: true, force: true });
  });

  it('lets a client set a cap with a throttle, see it stated, and lift it', async () => {
    const page = await ctx!.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${demo!.url}/login.php`);
    await page.fill('input[name=username]', 'anna@example.net');
    await page.fill('input[name=password]', 'demo');
    await Promise.all([page.waitForNavigation(), page.click('form button[type=submit]')]);
    await page.goto(`${demo!.url}/index.php?m=overusage`);
    const block = page.locator('section.ou-cap');
    expect(await block.locator('h3').innerText()).to.equal('Spending cap');
    expect(await block.locator('.ou-cap-current').innerText()).to.equal(
      'You have not set a cap: overusage is billed in full on your next invoice.',
    );
    await block.getByLabel('At most, each month').first().fill('25.00');
    await block.locator('select[name=kind]').selectOption({ label: 'an amount (EUR)' });
    await block.getByLabel('When it is reached').selectOption({ label: 'slow my server down' });
    await Promise.all([page.waitForNavigation(), block.getByRole('button', { name: 'Set cap' }).click()]);
    expect(await page.locator('.ou-flash-success').innerText()).to.equal('Your cap is set.');
    expect(await page.locator('section.ou-cap .ou-cap-current').innerText()).to.equal(
      'Your cap: €25.00 of overusage a month. When it is reached, your server is slowed down until the next period starts, and you are never billed more than the cap.',
    );
    expect(await page.locator('section.ou-cap').getAttribute('data-cap')).to.equal('set');
    await page.screenshot({ path: path.join(SHOTS, 'widget-cap.png'), fullPage: true });
    await Promise.all([
      page.waitForNavigation(),
      page.locator('section.ou-cap').getByRole('button', { name: 'Lift the cap now' }).click(),
    ]);
    expect(await page.locator('.ou-flash-success').innerText()).to.equal('Your cap is lifted.');
    expect(await page.locator('section.ou-cap').getAttribute('data-cap')).to.equal('none');
    expect(errors).to.deep.equal([]);
    await page.close();
  });
});
