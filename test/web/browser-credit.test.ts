import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import {
  launchChromium,
  measureLayout,
  needChromium,
  SHOTS,
  watchPage,
  type Browser,
} from '../support/browser.js';
import { ANN, buildWebStory, waivePaidLine } from '../support/web-story.js';

/**
 * Ann on her phone (390 × 844, headless Chromium) after her paid May overusage of €500.00 was
 * waived on 10 June and credited to her account, and her July renewal (€19.95) was paid from it on
 * 2 July: the line on her widget says 500.00 − 19.95 = 480.05 is left and links the July invoice,
 * which opens, paid; nothing scrolls sideways.
 */
describeEachEngine('the credit on the widget in a browser (headless Chromium)', ({ db, engine }) => {
  let browser: Browser | null = null;
  let server: http.Server | null = null;

  before(function () {
    needChromium(this);
  });
  afterEach(async () => {
    await browser?.close();
    browser = null;
    if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = null;
  });

  it('shows what is left of the credit and opens the invoice it paid, at 390 px', async function () {
    this.timeout(120_000);
    const s = await buildWebStory(db().knex);
    await waivePaidLine(s, 'ann');
    s.f.clock.set('2013-07-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-07-02');
    const july = toNum(
      (await s.f.knex('tblinvoices').where({ userid: s.ann.clientId }).orderBy('id', 'desc').first('id')).id,
    );
    server = http.createServer(s.app);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium({ width: 390, height: 844 });
    const problems: string[] = [];
    const page = watchPage(await browser.ctx.newPage(), problems);
    await page.goto(`${base}/login.php`);
    await page.fill('input[name=username]', ANN.email);
    await page.fill('input[name=password]', ANN.password);
    await Promise.all([page.waitForNavigation(), page.click('form button[type=submit]')]);
    await page.goto(`${base}/index.php?m=overusage`);

    const credit = page.locator(`li[data-line="${s.ann.lineId}"] .ou-credit`);
    expect((await credit.innerText()).replace(/\s+/g, ' ')).to.equal(
      `€500.00 credited to your account · €19.95 used on invoice #${july} · €480.05 left`,
    );
    expect(await credit.isVisible()).to.equal(true);
    const l = await measureLayout(page);
    expect(l.scrollWidth, 'no sideways scrolling').to.be.at.most(l.clientWidth);
    await page.screenshot({ path: path.join(SHOTS, `widget-credit-phone-${engine}.png`), fullPage: true });

    await Promise.all([
      page.waitForNavigation(),
      credit.getByRole('link', { name: `invoice #${july}` }).click(),
    ]);
    expect(new URL(page.url()).searchParams.get('id')).to.equal(String(july));
    expect(await page.locator('body').innerText()).to.match(/Paid/);
    expect(problems, 'errors in the pages').to.deep.equal([]);
  });
});
