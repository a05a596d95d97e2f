import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import express from 'express';
import { silentLogger } from '../../module/adapters/logger.js';
import { createModule, type OverusageModule } from '../../module/index.js';
import { createPanelWeb } from '../../panel/index.js';
import { addService } from '../../panel/records.js';
import { setClientPassword } from '../../panel/web/passwords.js';
import {
  launchChromium,
  measureLayout,
  needChromium,
  SHOTS,
  watchPage,
  type Browser,
} from '../support/browser.js';
import { createTestDatabase, type TestDatabase } from '../support/engines.js';
import { FakeMaster } from '../support/fake-gateway.js';
import { CLI_ACTOR, TEST_SECRET_KEY } from '../support/module-fixture.js';
import { buildPanel, seedStory, ZONE } from '../panel/support.js';
import { registerModule } from '../support/register-module.js';

const GiB = 2n ** 30n;

/*
 * The widget of a pooled VPS on a phone (390 × 844, headless Chromium as in test/web/browser.test.ts),
 * on the reference panel served on 127.0.0.1 (SQLite). Ann's three VPSs of 1 TiB each share pool
 * "main": 3 × 1 TiB = 3 072 GiB = "3,072.00 GiB" (the unit sold). On 10 November 2026: A 1 536 + B 200 +
 * C 200 GiB = 1 936 GiB = "1,936.00 GiB" = 63.02 % → "63.0 %". A alone is at 1 536/1 024 = 150 %: the page must
 * show the pool's 63.0 %, never "150.0 %", with the three VPSs and their parts (79.3 %, 10.3 %,
 * 10.3 %), and stay within the screen.
 */
describe("a pooled VPS's widget on a phone shows the pool (headless Chromium)", function () {
  this.timeout(120_000);
  let db: TestDatabase | null = null;
  let browser: Browser | null = null;
  let server: Server | null = null;
  let url = '';
  let mod: OverusageModule;
  let a = 0;
  const problems: string[] = [];

  before(async function () {
    needChromium(this);
    db = await createTestDatabase('sqlite');
    const knex = db.knex;
    const f = await buildPanel(knex, { start: '2026-11-01T08:00:00Z' });
    const story = await seedStory(f, { regdate: '2026-01-09', nextduedate: '2026-12-09' });
    a = story.serviceId;
    const b = await addService(
      knex,
      {
        userid: story.clientId,
        packageid: story.productId,
        domain: 'vps3.example.net',
        regdate: '2026-03-01',
        nextduedate: '2026-12-01',
        amount: '19.95',
      },
      f.clock.now(),
      ZONE,
    );
    const c = await addService(
      knex,
      {
        userid: story.clientId,
        packageid: story.productId,
        domain: 'vps4.example.net',
        regdate: '2026-03-01',
        nextduedate: '2026-12-01',
        amount: '19.95',
      },
      f.clock.now(),
      ZONE,
    );
    const fake = new FakeMaster();
    mod = createModule({
      knex,
      clock: f.clock,
      secretKey: TEST_SECRET_KEY,
      zone: ZONE,
      gatewayFor: () => fake.gateway(),
      panel: f.panel.api,
      log: silentLogger,
      metering: { writer: 'inline' },
      web: { cacheMs: 0 },
    });
    await mod.migrateDown();
    registerModule(f.panel, mod);
    await f.panel.addons.activate('overusage');
    const masterId = (
      await mod.masters.add(
        {
          name: 'solus',
          version: 1,
          baseUrl: 'https://solus.example.net:5656',
          apiId: 'i',
          apiKey: 'k',
          timeZone: ZONE,
        },
        CLI_ACTOR,
      )
    ).id;
    await mod.billing.setProduct(
      story.productId,
      {
        unit: 'GiB',
        model: 'per_unit',
        allowance: '1 TiB',
        prices: { EUR: { overage: '0.50' } },
        pool: 'main',
      },
      CLI_ACTOR,
    );
    for (const [id, ref] of [
      [a, '101'],
      [b, '103'],
      [c, '104'],
    ] as const) {
      await mod.links.link(
        {
          serviceId: id,
          clientId: story.clientId,
          productId: story.productId,
          masterId,
          serverRef: ref,
          currency: 'EUR',
          regdate: id === a ? '2026-01-09' : '2026-03-01',
        },
        CLI_ACTOR,
      );
    }
    await mod.pools.syncMembers();
    f.clock.set('2026-11-10T21:50:00Z');
    for (const [ref, gib] of [
      ['101', 1536n],
      ['103', 200n],
      ['104', 200n],
    ] as const)
      fake.set(ref, gib * GiB);
    await mod.metering.collect();
    f.clock.set('2026-11-11T09:00:00Z');
    await setClientPassword(knex, story.clientId, 'ann-password', f.clock.now(), ZONE);
    const app = express();
    app.use(f.panel.apiRouter);
    app.use(
      createPanelWeb({
        panel: f.panel,
        sessionSecret: 'pool-widget-session-secret-0123456789',
        cacheViews: true,
      }),
    );
    app.use(mod.web.router());
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server!.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium({ width: 390, height: 844 });
  });

  after(async () => {
    await browser?.close();
    if (server) await new Promise((resolve) => server!.close(resolve));
    await db?.drop();
  });

  it("shows the pool's 63.0 %, the three VPSs with their parts, and not A's own 150 %", async () => {
    const page = watchPage(await browser!.ctx.newPage(), problems);
    await page.goto(`${url}/login.php`);
    await page.fill('input[name=username]', 'ann@example.net');
    await page.fill('input[name=password]', 'ann-password');
    await Promise.all([page.waitForNavigation(), page.click('form button[type=submit]')]);
    await page.goto(`${url}/index.php?m=overusage&service=${a}`);
    const now = page.locator('section.ou-now');
    // the page keeps a number and its unit together with a no-break space; read as plain spaces
    const text = async (sel: string) => (await now.locator(sel).innerText()).replace(/\u00a0/g, ' ');
    expect(await text('.ou-used')).to.equal(
      'Transfer pool main (3 VPSs): 1,936.00 GiB of 3,072.00 GiB used together (63.0 %)',
    );
    expect((await now.locator('.ou-meter svg').getAttribute('aria-label'))!.replace(/\u00a0/g, ' ')).to.equal(
      '63.0 % of the allowance used',
    );
    expect(
      (await now.locator('[data-pool] li').allInnerTexts()).map((t) => t.replace(/\u00a0/g, ' ')),
    ).to.deep.equal([
      "vps1.example.net (VPS 5 TB) (this VPS): 1,536.00 GiB (79.3 % of the pool's traffic)",
      "vps3.example.net (VPS 5 TB): 200.00 GiB (10.3 % of the pool's traffic)",
      "vps4.example.net (VPS 5 TB): 200.00 GiB (10.3 % of the pool's traffic)",
    ]);
    expect(await page.locator('body').innerText()).not.to.match(/150[.,]0/);
    // the pool's list is on the screen, not below a sideways scroll
    expect(await now.locator('[data-pool]').isVisible()).to.equal(true);
    const l = await measureLayout(page);
    expect(l.scrollWidth, 'no sideways scrolling').to.be.at.most(l.clientWidth);
    expect(l.outsideCards, 'nothing sticks out of its card').to.deep.equal([]);
    await page.screenshot({ path: path.join(SHOTS, 'widget-pool-phone.png'), fullPage: true });
    await page.close();
    expect(problems, 'errors in the pages').to.deep.equal([]);
  });
});
