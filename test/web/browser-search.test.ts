import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { describeEachEngine } from '../support/engines.js';
import {
  launchChromium,
  measureLayout,
  needChromium,
  SHOTS,
  watchPage,
  type Browser,
} from '../support/browser.js';
import { addSearchClients } from '../support/search-clients.js';
import { ADMIN, buildWebStory } from '../support/web-story.js';

/**
 * The admin on a phone (390 × 844) searches the Services page of the reference panel's admin tab
 * in headless Chromium: typing "o’brien" (a curly apostrophe, as a phone's keyboard gives it) and
 * then "Zoe" (no accent) each list the one service, named, and the page does not scroll sideways.
 */
describeEachEngine("the admin tab's search on a phone (headless Chromium)", ({ db, engine }) => {
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

  it('finds O’Brien and Zoë Müller by typing their names at 390 px', async function () {
    this.timeout(120_000);
    const s = await buildWebStory(db().knex);
    const ids = await addSearchClients(s, db().knex);
    server = http.createServer(s.app);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium({ width: 390, height: 844 });
    const problems: string[] = [];
    const page = watchPage(await browser.ctx.newPage(), problems);
    await page.goto(`${base}/admin/login.php`);
    await page.fill('input[name=username]', ADMIN.username);
    await page.fill('input[name=password]', ADMIN.password);
    await Promise.all([page.waitForNavigation(), page.click('form button[type=submit]')]);
    await page.goto(`${base}/admin/addonmodules.php?module=overusage&a=services`);
    // all five services before a search: Ann, Jan and the three added
    expect(await page.locator('tr[data-service]').count()).to.equal(5);

    const search = page.getByRole('searchbox', { name: 'Client, hostname or IP' });
    await search.fill('o’brien');
    await Promise.all([page.waitForNavigation(), search.press('Enter')]);
    expect(
      await page
        .locator('tr[data-service]')
        .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-service')))),
    ).to.deep.equal([ids.obrien]);
    const row = await page.locator(`tr[data-service="${ids.obrien}"]`).innerText();
    expect(row).to.include("Siobhán O'Brien");
    expect(row).to.include('obrien-vps.example.ie');
    expect(await search.inputValue()).to.equal('o’brien');
    let l = await measureLayout(page);
    expect(l.scrollWidth, 'no sideways scrolling with the results').to.be.at.most(l.clientWidth);
    await page.screenshot({ path: path.join(SHOTS, `admin-search-phone-${engine}.png`), fullPage: true });

    await search.fill('Zoe');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Search' }).click()]);
    const rows = page.locator('tr[data-service]');
    expect(await rows.count()).to.equal(1);
    expect(await rows.first().innerText()).to.include('Zoë Müller (Müller & Søn)');
    // the search box and its button fit the phone's width
    const box = await page.locator('form.ou-search').boundingBox();
    expect(box!.x + box!.width, 'the search form inside 390 px').to.be.at.most(390);
    l = await measureLayout(page);
    expect(l.scrollWidth, 'no sideways scrolling').to.be.at.most(l.clientWidth);

    await page.getByRole('link', { name: 'Show all' }).click();
    await page.waitForLoadState();
    expect(await page.locator('tr[data-service]').count()).to.equal(5);
    expect(problems, 'errors in the pages').to.deep.equal([]);
  });
});
