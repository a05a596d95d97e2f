import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium, needChromium, SHOTS, type Browser } from '../support/browser.js';
import type { Knex } from 'knex';
import { toNum } from '../../module/adapters/rows.js';
import type { TestDatabase } from '../support/engines.js';
import { packageVersion, ROOT } from '../../tools/whmcs-package.js';
import {
  bridgeDatabase,
  buildBridgeWorld,
  closeMay,
  phpErrors,
  SECRET,
  type BridgeWorld,
} from './support.js';
import { startWhmcsShell, type WhmcsShell } from './whmcs-shell.js';

const DOC = path.join(ROOT, 'docs', 'whmcs.md');

/** The shell commands of the install guide's step 3, as an admin would paste them. */
function installCommands(): string[] {
  const doc = fs.readFileSync(DOC, 'utf8');
  const step = doc.slice(doc.indexOf('## 3. '), doc.indexOf('## 4. '));
  const block = /```sh\n([\s\S]*?)```/.exec(step);
  if (!block) throw new Error('docs/whmcs.md step 3 has no ```sh block');
  return block[1]!
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter(Boolean);
}

/**
 * The addon installed from its package into WHMCS's page shell, served by `php -S`, in Chromium
 * (Debian's): the install guide's commands are run as written (npm run package:whmcs, unzip into
 * WHMCS's folder), the addon is activated and configured in Setup > Addon Modules, and then a
 * client and an admin use it — the client page and the admin tab styled by WHMCS's Bootstrap and
 * our one stylesheet (served from the addon's folder), a line disputed and resolved, CSV files
 * downloaded through WHMCS — with no PHP error, no console error, no failed request, and not one
 * request from the browser to the service's port. Forms without WHMCS's token are refused.
 */
describe('the WHMCS addon in a browser, inside WHMCS’s pages (php -S, Chromium)', function () {
  this.timeout(240_000);
  let db: TestDatabase;
  let knex: Knex;
  let w: BridgeWorld;
  let shell: WhmcsShell;
  let ctx: BrowserContext;
  let browser: Browser | undefined;
  let invoiceId = 0;
  const problems: string[] = [];
  const requested: string[] = [];

  before(async function () {
    needChromium(this);
    db = await bridgeDatabase(this);
    knex = db.knex;
    w = await buildBridgeWorld(db);
    await closeMay(w);
    fs.mkdirSync(SHOTS, { recursive: true });
    browser = await launchChromium({ width: 1200, height: 900, acceptDownloads: true });
    ctx = browser.ctx;
  });

  after(async () => {
    await browser?.close();
    await shell?.close();
    await w?.close();
    await db?.drop();
  });

  const watch = (page: Page) => {
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`${page.url()}: ${m.text()}`);
    });
    page.on('request', (r) => requested.push(r.url()));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
    });
    page.on('pageerror', (e) => problems.push(`${page.url()}: ${e.message}`));
    return page;
  };

  const login = async (page: Page, as: 'admin' | 'client', id: number, to: string, lang = 'english') => {
    await page.goto(
      `${shell.url}/harness/login.php?as=${as}&id=${id}&lang=${lang}&to=${encodeURIComponent(to)}`,
    );
  };

  /** computed style of the first element matching `selector` (a string to evaluate: the tests compile without the DOM's types) */
  const style = (page: Page, selector: string, prop: string): Promise<string> =>
    page.evaluate(
      `getComputedStyle(document.querySelector(${JSON.stringify(selector)})).getPropertyValue(${JSON.stringify(prop)})`,
    ) as Promise<string>;

  const download = async (page: Page, click: () => Promise<unknown>) => {
    const [d] = await Promise.all([page.waitForEvent('download'), click()]);
    const file = await d.path();
    return { name: d.suggestedFilename(), url: d.url(), text: fs.readFileSync(file!, 'utf8') };
  };

  // each step is a describe of its own, so the steps run in the order written (mocha runs a suite's
  // own its before its nested suites), on one world: the dispute the client page takes is the one
  // the refusal finds open and the admin tab resolves
  describe('installing', () => {
    it("installs from the package as docs/whmcs.md says: the guide's commands, then Activate and Configure", async () => {
      const whmcs = fs.mkdtempSync(path.join(w.dir, 'whmcs-'));
      const commands = installCommands();
      expect(commands).to.deep.equal([
        'npm run package:whmcs',
        'unzip -o dist/overusage-whmcs-<version>.zip -d /path/to/whmcs',
      ]);
      for (const c of commands)
        execFileSync(
          'bash',
          ['-c', c.replaceAll('<version>', packageVersion()).replaceAll('/path/to/whmcs', whmcs)],
          { cwd: ROOT, stdio: 'pipe' },
        );
      // the addon folder with its built assets, and nothing from the repository beside it
      for (const f of [
        'overusage.php',
        'hooks.php',
        'lib/Pages.php',
        'lang/dutch.php',
        'templates/clientarea.tpl',
        'assets/overusage.css',
        'assets/overusage.js',
      ]) {
        expect(fs.existsSync(path.join(whmcs, 'modules', 'addons', 'overusage', f)), f).to.equal(true);
      }
      expect(fs.readdirSync(whmcs)).to.deep.equal(['modules']);
      expect(
        fs.readFileSync(
          path.join(whmcs, 'modules', 'addons', 'overusage', 'assets', 'overusage.css'),
          'utf8',
        ),
      ).to.equal(fs.readFileSync(path.join(ROOT, 'views', 'assets', 'overusage.css'), 'utf8'));
      shell = await startWhmcsShell(w, whmcs);

      // step 4: Setup > Addon Modules: Activate, then Configure with the service's URL and secret
      const doc = fs.readFileSync(DOC, 'utf8');
      for (const words of [
        '**Activate**',
        '**Configure**',
        '*Service URL*',
        '*Shared secret*',
        '**Save Changes**',
      ])
        expect(doc, words).to.include(words);
      const page = watch(await ctx.newPage());
      await login(page, 'admin', 1, '/admin/configaddonmods.php');
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Activate' }).click()]);
      expect(await page.locator('[data-result]').innerText()).to.equal(
        'Overusage is active. Now click Configure and set the service URL and the shared secret.',
      );
      expect(await knex.schema.hasTable('mod_overusage_bridge_outbox')).to.equal(true);
      await page.locator('summary', { hasText: 'Configure' }).click();
      await page.getByLabel('Service URL').fill(w.serviceUrl);
      await page.getByLabel('Shared secret').fill(SECRET);
      await Promise.all([
        page.waitForNavigation(),
        page.getByRole('button', { name: 'Save Changes' }).click(),
      ]);
      expect(await page.locator('.alert-success').innerText()).to.equal('Changes Saved Successfully!');
      await page.close();

      // June's renewal invoice: WHMCS fires InvoiceCreation, hooks.php relays it, May's line is added
      w.connectPanel(['InvoiceCreation']);
      w.f.clock.set('2013-06-02T07:00:00Z');
      await w.f.panel.runDailyAutomation('2013-06-02');
      const row = await knex('tblinvoiceitems')
        .where({ type: 'Hosting', relid: w.story.serviceId })
        .orderBy('id', 'desc')
        .first('invoiceid');
      invoiceId = toNum(row.invoiceid);
      expect((await knex('mod_overusage_lines').where({ invoice_id: invoiceId }).first()).status).to.equal(
        'placed',
      );
    });
  });

  describe('the client page', () => {
    let page: Page;
    beforeEach(async () => {
      page = watch(await ctx.newPage());
      await login(page, 'client', w.story.clientId, '/index.php?m=overusage');
    });
    afterEach(async () => {
      await page.close();
    });

    it('is titled in the client’s words and names the service as WHMCS has it', async () => {
      expect(await page.locator('h1').innerText()).to.equal('Bandwidth usage');
      // the service's name from WHMCS (GetClientsProducts through the bridge's localAPI, nested 8 deep)
      expect(await page.locator('.ou-now h2').innerText()).to.equal('vps1.example.net (VPS 5 TB)');
    });

    it('is styled by our stylesheet from the addon’s folder and by WHMCS’s Bootstrap 4', async () => {
      // our stylesheet from the addon's folder: June so far (150 GB of 5 TB, 3 %) fills the meter in our green
      expect(await style(page, '.ou-meter-fill', 'fill')).to.equal('rgb(46, 139, 87)');
      // WHMCS's Bootstrap 4 styles the rest: a card's border and radius, the primary button's blue
      expect(await style(page, '.ou-card.card', 'border-top-left-radius')).to.equal('4px');
      expect(await style(page, 'li.ou-line .btn-primary', 'background-color')).to.equal('rgb(0, 123, 255)');
      await page.screenshot({ path: path.join(SHOTS, 'whmcs-client.png'), fullPage: true });
    });

    it('downloads May’s daily figures through WHMCS’s page, byte for byte as worked out by hand', async () => {
      // no token in the link, no service port
      const link = page.locator('li.ou-line a[download]').first();
      expect(await link.getAttribute('href')).to.match(/^index\.php\?m=overusage&download=line&line=\d+$/);
      const csv = await download(page, () => link.click());
      expect(csv.name).to.match(/^OU-[0-9A-F]{10}-days\.csv$/);
      const rows = csv.text.trim().split('\r\n');
      expect(rows[0]).to.equal('date,bytes,estimated_bytes,measured,note');
      // by hand: 31 days of May; the counter read 5 900 GB on the evening of 30 May (the first read,
      // covering 1–30 May: spread evenly, an estimate: 5 900 000 000 000 / 30 = 196 666 666 666 rest
      // 20, so the first 20 days get one byte more) and 6 000 GB on 31 May (100 GB measured); the
      // period's 6 000 GB = 6 × 10^12 bytes in all
      expect(rows.slice(1).map((r) => r.split(',')[0])).to.deep.equal(
        Array.from({ length: 31 }, (_, i) => `2013-05-${String(i + 1).padStart(2, '0')}`),
      );
      const bytes = rows.slice(1).map((r) => BigInt(r.split(',')[1]!));
      expect(bytes).to.deep.equal([
        ...Array(20).fill(196_666_666_667n),
        ...Array(10).fill(196_666_666_666n),
        100_000_000_000n,
      ]);
      expect(bytes.reduce((a, b) => a + b, 0n)).to.equal(6_000_000_000_000n);
      expect(rows[1]).to.equal(
        '2013-05-01,196666666667,196666666667,false,estimate: a longer interval spread evenly over its days',
      );
      expect(rows[31]).to.equal('2013-05-31,100000000000,0,true,');
    });

    it('takes a dispute through a form carrying WHMCS’s token, and holds the line', async () => {
      const line = page.locator('li.ou-line').first();
      expect(await line.getAttribute('data-state')).to.equal('placed');
      await line.locator('details.ou-dispute > summary').click();
      // the form carries WHMCS's token, under WHMCS's name
      expect(await line.locator('form input[name=token]').count()).to.equal(1);
      await line
        .locator('textarea[name=reason]')
        .fill('I cannot tell where this traffic came from; I want the daily figures.');
      await Promise.all([
        page.waitForNavigation(),
        line.getByRole('button', { name: 'Send the dispute' }).click(),
      ]);
      expect(await page.locator('.ou-flash-success.alert-success').innerText()).to.equal(
        'Your dispute was received. The line is on hold while we look at it.',
      );
      expect(await page.locator('li.ou-line').first().getAttribute('data-state')).to.equal('held');
      expect(await style(page, '.ou-flash.alert-success', 'background-color')).to.equal('rgb(212, 237, 218)');
      await page.screenshot({ path: path.join(SHOTS, 'whmcs-client-held.png'), fullPage: true });
    });

    it('answers a line that is not the client’s (or not there) with WHMCS’s warning, not a file', async () => {
      await page.goto(`${shell.url}/index.php?m=overusage&download=line&line=999`);
      expect(await page.locator('.alert-warning').innerText()).to.match(/^Line 999 /);
    });

    it('puts the usage panel, with our meter styled, on WHMCS’s home page, naming the line under dispute', async () => {
      await page.goto(`${shell.url}/clientarea.php`);
      expect(await page.locator('[data-panel="overusage"]').innerText()).to.include('1 line under dispute');
      expect(await style(page, '[data-panel="overusage"] .ou-meter-fill', 'fill')).to.equal(
        'rgb(46, 139, 87)',
      );
    });
  });

  describe('a client form without WHMCS’s token', () => {
    it('the client page refuses a form without WHMCS’s token: the session ends, nothing changes', async () => {
      const page = watch(await ctx.newPage());
      await login(page, 'client', w.story.clientId, '/index.php?m=overusage');
      const withdraw = page.locator('li.ou-line form').first();
      expect(await withdraw.locator('input[name=do]').getAttribute('value')).to.equal('withdraw');
      // a form posted from elsewhere has no valid token
      await page.evaluate("document.querySelector('li.ou-line form input[name=token]').remove()");
      expect(await withdraw.locator('input[name=token]').count()).to.equal(0);
      page.on('dialog', (d) => void d.accept());
      await Promise.all([page.waitForNavigation(), withdraw.locator('button[type=submit]').click()]);
      expect(new URL(page.url()).pathname).to.equal('/clientarea.php');
      expect(await page.locator('.alert-info').innerText()).to.equal('Please log in to continue.');
      expect((await knex('mod_overusage_disputes').first()).state).to.equal('open');
      await page.close();
    });
  });

  describe('the admin tab', () => {
    let page: Page;
    // a decision moves money: the page asks first, naming the amount (views/assets/overusage.js)
    let asked: string[] = [];
    const TAB = '/admin/addonmodules.php?module=overusage';
    beforeEach(async () => {
      page = watch(await ctx.newPage());
      asked = [];
      page.on('dialog', (d) => {
        asked.push(d.message());
        void d.accept();
      });
      await login(page, 'admin', 1, TAB);
    });
    afterEach(async () => {
      await page.close();
    });
    const openDispute = async () => {
      await page.getByRole('link', { name: 'Disputes', exact: true }).click();
      await Promise.all([page.waitForNavigation(), page.locator('tr[data-dispute] a').first().click()]);
      return page.locator('form.ou-resolve');
    };

    it('is drawn by WHMCS’s Bootstrap 3 with our stylesheet from the addon’s folder, and counts the open dispute', async () => {
      expect(await style(page, '.ou-tabs.nav-tabs', 'border-bottom-color')).to.equal('rgb(221, 221, 221)');
      expect(await style(page, '.ou-card.panel', 'border-top-left-radius')).to.equal('4px');
      expect(
        await page
          .locator('link[rel=stylesheet][href^="../modules/addons/overusage/assets/overusage.css?v="]')
          .count(),
      ).to.equal(1);
      expect(await page.locator('.ou-stat').nth(1).innerText()).to.match(/^1\s+open dispute$/);
      await page.screenshot({ path: path.join(SHOTS, 'whmcs-admin.png'), fullPage: true });
    });

    it('refuses a resolution posted without WHMCS’s token, after the page asked, and leaves the dispute open', async () => {
      const form = await openDispute();
      expect(await form.locator('input[name=token]').count()).to.equal(1);
      // without the token: WHMCS's check stops it before the service hears of it
      await form.locator('input[name=to][value=waived]').check();
      await page.evaluate("document.querySelector('form.ou-resolve input[name=token]').remove()");
      expect(await form.locator('input[name=token]').count()).to.equal(0);
      await Promise.all([
        page.waitForNavigation(),
        form.getByRole('button', { name: 'Resolve the dispute' }).click(),
      ]);
      expect(await page.locator('body').innerText()).to.equal('Invalid Token');
      expect(asked).to.deep.equal([
        `Waive dispute ${(await knex('mod_overusage_disputes').first()).id}: the client no longer owes €500.00?`,
      ]);
      expect((await knex('mod_overusage_disputes').first()).state).to.equal('open');
    });

    it('previews an adjustment by form (no API inside WHMCS), then resolves the dispute after asking with both amounts', async () => {
      const again = await openDispute();
      await again.locator('input[name=to][value=adjusted]').check();
      await again.locator('select[name=kind]').selectOption('share');
      await again.locator('input[name=percent]').fill('50');
      await Promise.all([
        page.waitForNavigation(),
        again.getByRole('button', { name: 'Preview the new amount' }).click(),
      ]);
      // by hand: half of the line's 1 000 GB × €0.50 = €500.00 is €250.00
      expect(await page.locator('[data-preview]').innerText()).to.match(/^New amount: €250\.00 /);
      const resolve = page.locator('form.ou-resolve');
      await resolve.locator('textarea[name=note]').fill('half: the first days were a backup gone wrong');
      await Promise.all([
        page.waitForNavigation(),
        resolve.getByRole('button', { name: 'Resolve the dispute' }).click(),
      ]);
      // by hand: from the line's €500.00 to half of it
      expect(asked[0]).to.match(/^Adjust dispute \d+ from €500\.00 to €250\.00\?$/);
      expect(await page.locator('.ou-flash-success.alert-success').innerText()).to.match(
        /^Dispute \d+ adjusted: the line now bills €250\.00 \(was €500\.00\)\.$/,
      );
      expect(await style(page, '.ou-flash.alert-success', 'background-color')).to.equal('rgb(223, 240, 216)');
      const dispute = await knex('mod_overusage_disputes').first();
      expect(dispute.state).to.equal('adjusted');
    });

    it('downloads the dispute’s raw samples through WHMCS: the two reads of May as SolusVM sent them', async () => {
      const dispute = await knex('mod_overusage_disputes').first();
      await page.goto(`${shell.url}${TAB}&a=dispute&id=${dispute.id}`);
      const samples = await download(page, () =>
        page.getByRole('link', { name: 'Raw samples (CSV)' }).click(),
      );
      expect(new URL(samples.url).search).to.match(/^\?module=overusage&download=line_samples&id=\d+$/);
      const counters = samples.text
        .trim()
        .split('\r\n')
        .slice(1)
        .map((r) => r.split(',')[3]);
      expect(counters).to.include.members(['5900000000000', '6000000000000']);
      await page.screenshot({ path: path.join(SHOTS, 'whmcs-admin-resolved.png'), fullPage: true });
    });

    it('exports the lines through WHMCS: the one line, on its own published invoice, adjusted to €250.00', async () => {
      const dispute = await knex('mod_overusage_disputes').first();
      await page.getByRole('link', { name: 'Lines', exact: true }).click();
      const lines = await download(page, () =>
        page.getByRole('link', { name: 'Export these lines (CSV)' }).click(),
      );
      expect(lines.name).to.equal('overusage-lines.csv');
      const [head, only, ...more] = lines.text.trim().split('\r\n');
      expect(head).to.equal(
        'line_id,ref,client_id,service_id,invoice_id,status,state,amount,currency,period_start,period_end,dispute_by,dispute_id,dispute_state,description',
      );
      expect(more).to.deep.equal([]);
      // the line left the renewal invoice when it was held, and its own invoice was published with the new amount
      const held = toNum((await knex('mod_overusage_lines').first('invoice_id')).invoice_id);
      expect(held).to.not.equal(invoiceId);
      expect(only!.split(',').slice(2, 13)).to.deep.equal([
        String(w.story.clientId),
        String(w.story.serviceId),
        String(held),
        'placed',
        'adjusted',
        '250.00',
        'EUR',
        '2013-05-01',
        '2013-05-31',
        '2013-06-16',
        String(dispute.id),
      ]);
    });
  });

  describe('at the end', () => {
    it('never had the browser ask the service, nor leave a PHP error, a console error or a failed request behind', () => {
      const service = new URL(w.serviceUrl);
      const panelApi = new URL(w.api.url);
      const shellOrigin = new URL(shell.url).origin;
      expect(requested.length).to.be.greaterThan(10);
      expect(
        requested.filter((u) => new URL(u).port === service.port || new URL(u).port === panelApi.port),
      ).to.deep.equal([]);
      expect(requested.filter((u) => !u.startsWith(shellOrigin) && !u.startsWith('data:'))).to.deep.equal([]);
      // no token of any kind in a URL WHMCS's access log would keep
      expect(requested.filter((u) => /[?&]token=/.test(u))).to.deep.equal([]);
      expect(problems).to.deep.equal([]);
      expect(shell.errors()).to.deep.equal([]);
      expect(phpErrors(w.runs)).to.deep.equal([]);
      // every request to the service is in WHMCS's module log, and no secret is
      const log = shell.moduleLog();
      // (activation asked the service nothing: it was not configured yet)
      expect(log.map((e) => e.action)).to.include.members(['clientarea', 'output', 'download', 'results']);
      for (const e of log) expect(`${e.request}${e.response}`).to.not.include(SECRET);
    });
  });
});
