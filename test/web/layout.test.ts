import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { loadConfig } from '../../cli/config.js';
import { serveDemo, type RunningDemo } from '../../cli/serve-demo.js';
import { createLogger } from '../../module/adapters/logger.js';
import {
  launchChromium,
  measureLayout,
  needChromium,
  SHOTS,
  watchPage,
  type Browser,
} from '../support/browser.js';

/**
 * The client's pages on a phone (390 px wide, an iPhone 12–15) and on a laptop (1366 px), measured
 * in the browser: the page never scrolls sideways (document scrollWidth ≤ clientWidth), the chart's
 * and the meter's text renders at 11 px or more (the rendered size: font-size × the SVG's scale),
 * the meter's marks do not overlap, and nothing sticks out of its card. Pieter's pages of the demo:
 * the home page with the add-on's panel, the widget, the panel's service page, and the invoice that
 * carries his overusage.
 */
const MIN_TEXT_PX = 11;

describe('the client pages on a phone and on a laptop (headless Chromium)', function () {
  this.timeout(180_000);
  let dataDir = '';
  let demo: RunningDemo | null = null;
  let browser: Browser | null = null;
  const problems: string[] = [];
  let serviceId = 0;
  let invoiceId = 0;

  before(async function () {
    needChromium(this);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-layout-'));
    const config = loadConfig({ OVERUSAGE_DATA_DIR: dataDir, OVERUSAGE_LOG_LEVEL: 'error' });
    demo = await serveDemo(config, createLogger({ level: 'error' }), { host: '127.0.0.1', port: 0 });
    const knex = demo.demo.db.knex;
    const service = (await knex('tblhosting').where({ domain: 'vps101.example.net' }).first('id', 'userid'))!;
    serviceId = Number(service.id);
    // the renewal invoice of 3 June with his May overusage on it
    const item = await knex('tblinvoiceitems as i')
      .join('tblinvoices as v', 'v.id', 'i.invoiceid')
      .where('v.userid', service.userid)
      .andWhere('i.description', 'like', '%OU-%')
      .first('i.invoiceid');
    invoiceId = Number(item!.invoiceid);
    browser = await launchChromium();
    const page = await browser.ctx.newPage();
    await page.goto(`${demo.url}/login.php`);
    await page.fill('input[name=username]', 'pieter@example.be');
    await page.fill('input[name=password]', 'demo');
    await Promise.all([page.waitForNavigation(), page.click('form button[type=submit]')]);
    await page.close();
  });

  after(async () => {
    await browser?.close();
    await demo?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const pages = () => [
    { name: 'home', url: `${demo!.url}/clientarea.php`, chart: false },
    { name: 'widget', url: `${demo!.url}/index.php?m=overusage`, chart: true },
    {
      name: 'service',
      url: `${demo!.url}/clientarea.php?action=productdetails&id=${serviceId}`,
      chart: false,
    },
    { name: 'invoice', url: `${demo!.url}/viewinvoice.php?id=${invoiceId}`, chart: false },
  ];

  for (const [width, height, tag] of [
    [390, 844, 'phone'],
    [1366, 768, 'laptop'],
  ] as const) {
    it(`lays out the home page, the widget, the service page and the invoice at ${width} px`, async () => {
      const page: Page = watchPage(await browser!.ctx.newPage(), problems);
      await page.setViewportSize({ width, height });
      for (const p of pages()) {
        await page.goto(p.url);
        const l = await measureLayout(page);
        await page.screenshot({ path: path.join(SHOTS, `layout-${p.name}-${tag}.png`), fullPage: true });
        expect(l.clientWidth, `${p.name}: the window`).to.equal(width);
        expect(l.scrollWidth, `${p.name}: no sideways scrolling`).to.be.at.most(l.clientWidth);
        expect(l.outsideCards, `${p.name}: everything inside its card`).to.deep.equal([]);
        expect(l.overlappingMarks, `${p.name}: the meter's marks apart`).to.deep.equal([]);
        if (p.name !== 'invoice')
          expect(l.smallestChartText, `${p.name}: there is a meter or a chart`).to.not.equal(null);
        if (l.smallestChartText !== null)
          expect(l.smallestChartText, `${p.name}: chart and meter text readable`).to.be.at.least(MIN_TEXT_PX);
        if (p.chart)
          expect(
            await page.locator('.ou-chart svg text').count(),
            `${p.name}: the chart has its axis text`,
          ).to.be.greaterThan(5);
      }
      await page.close();
      expect(problems, 'errors in the pages').to.deep.equal([]);
    });
  }
});
