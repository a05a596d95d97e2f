import { expect } from 'chai';
import express from 'express';
import type { Knex } from 'knex';
import { toNum } from '../../module/adapters/rows.js';
import { answerSignature, newNonce, requestSignature } from '../../module/adapters/bridge-signing.js';
import type { TestDatabase } from '../support/engines.js';
import { testCert } from '../support/solusvm-stub.js';
import {
  bridgeDatabase,
  buildBridgeWorld,
  closeMay,
  deadUrl,
  listenOn,
  phpErrors,
  requireCurl,
  SECRET,
  type BridgeWorld,
  type HarnessOutput,
} from './support.js';

const overusageItems = (inv: { items: Array<{ description: string }> }) =>
  inv.items.filter((i) => i.description.startsWith('Bandwidth overusage'));
const logged = (out: HarnessOutput, re: RegExp) => out.activity.some((a) => re.test(a.description));

/**
 * The PHP bridge under php-cli (E_ALL, every warning fails the test) against a running service,
 * with WHMCS's database layer for real (Illuminate's Capsule on MariaDB, holding WHMCS's tables):
 * hook answers reach WHMCS with WHMCS's return semantics, signatures are enforced both ways, the
 * service being down gives the configured fail mode and a message in the activity log, and panel
 * changes relayed through localAPI are applied once and reported.
 */
describe('the WHMCS bridge under php-cli', function () {
  let db: TestDatabase;
  let knex: Knex;
  let w: BridgeWorld;

  before(async function () {
    db = await bridgeDatabase(this);
    knex = db.knex;
  });

  after(async () => {
    await db?.drop();
  });

  afterEach(async function () {
    if (w) {
      // no PHP error, warning, notice or deprecation in any run of the test
      const world = w;
      w = undefined as unknown as BridgeWorld;
      await world.close();
      expect(phpErrors(world.runs), 'PHP reported').to.deep.equal([]);
    }
  });

  describe('hook answers, with WHMCS return semantics', () => {
    beforeEach(async () => {
      w = await buildBridgeWorld(db);
    });

    it('EmailPreSend: abortsend and merge fields come back as the array WHMCS merges', async () => {
      const seen: unknown[] = [];
      w.extraHooks.push({
        name: 'EmailPreSend',
        priority: 5,
        handler: (v) => (seen.push(v), v.relid === 41 ? { abortsend: true } : { overusage_note: 'on hold' }),
      });
      const aborted = await w.fire('EmailPreSend', {
        messagename: 'First Invoice Overdue Notice',
        relid: 41,
        mergefields: { invoice_num: '41' },
      });
      expect(aborted.ret).to.deep.equal({ abortsend: true });
      const merged = await w.fire('EmailPreSend', {
        messagename: 'Invoice Created',
        relid: 42,
        mergefields: [],
      });
      expect(merged.ret).to.deep.equal({ overusage_note: 'on hold' });
      expect(seen[0]).to.deep.include({ messagename: 'First Invoice Overdue Notice', relid: 41 });
      expect(aborted.activity).to.deep.equal([]);
    });

    it('EmailPreSend without any handler answering: an empty array, the email goes', async () => {
      const out = await w.fire('EmailPreSend', { messagename: 'Invoice Payment Reminder', relid: 7 });
      expect(out.ret).to.deep.equal([]);
    });

    it("PreModuleSuspend: abortcmd stops the suspension, and the module's server password never leaves WHMCS", async () => {
      const seen: Array<Record<string, unknown>> = [];
      w.extraHooks.push({
        name: 'PreModuleSuspend',
        priority: 5,
        handler: (v) => (seen.push(v), { abortcmd: true }),
      });
      const out = await w.fire('PreModuleSuspend', {
        params: {
          serviceid: 12,
          userid: 3,
          password: 'vps-root-pw',
          serverpassword: 'solus-key',
          serveraccesshash: 'hash',
          domain: 'vps1.example.net',
        },
      });
      expect(out.ret).to.deep.equal({ abortcmd: true });
      expect(seen[0]!.params).to.deep.equal({ serviceid: 12, userid: 3, domain: 'vps1.example.net' });
    });

    it('a later handler cannot un-abort, as in the panel: control keys stay true', async () => {
      w.extraHooks.push({ name: 'PreModuleSuspend', priority: 5, handler: () => ({ abortcmd: true }) });
      w.extraHooks.push({
        name: 'PreModuleSuspend',
        priority: 20,
        handler: () => ({ abortcmd: false, suspendreason: 'Overdue' }),
      });
      const out = await w.fire('PreModuleSuspend', { params: { serviceid: 12 } });
      expect(out.ret).to.deep.equal({ abortcmd: true, suspendreason: 'Overdue' });
    });

    it('output hooks: the HTML comes back as the string WHMCS shows (product details), and the service password stays in WHMCS', async () => {
      const seen: Array<Record<string, unknown>> = [];
      w.extraHooks.push({
        name: 'ClientAreaProductDetailsOutput',
        priority: 5,
        handler: (v) => (
          seen.push(v.service as Record<string, unknown>),
          `<p>Service ${(v.service as { id: number }).id}: 4.2 TB used</p>`
        ),
      });
      const details = await w.php({
        action: 'hook',
        hook: 'ClientAreaProductDetailsOutput',
        service: { id: 9, userid: 3, packageid: 1, password: 'secret' },
      });
      // service 9 is not metered: the module's own handler adds nothing to ours
      expect(details.ret).to.equal('<p>Service 9: 4.2 TB used</p>');
      expect(seen[0]).to.deep.equal({ id: 9, userid: 3, packageid: 1 });
    });

    it('ClientAreaHomepagePanels: the changes made to the menu are replayed on WHMCS’s own menu object', async () => {
      w.extraHooks.push({
        name: 'ClientAreaHomepagePanels',
        priority: 10,
        handler: (menu: any) => {
          menu
            .addChild('overusage', {
              label: 'Bandwidth',
              order: 50,
              icon: 'fa-chart-bar',
              bodyHtml: `<p>client ${menu.clientid}: 80 %</p>`,
              extras: { color: 'teal' },
            })
            .addChild('row', { label: 'Details', uri: 'index.php?m=overusage' });
          menu.getChild('Invoices')?.setLabel('Invoices (1 on hold)');
          menu.removeChild('Active Products/Services');
        },
      });
      const out = await w.php({
        action: 'hook',
        hook: 'ClientAreaHomepagePanels',
        session: { uid: 3 },
        menu: [
          { name: 'Active Products/Services', label: 'My Services', order: 100 },
          { name: 'Invoices', label: 'My Invoices', order: 200 },
        ],
      });
      expect(out.ret).to.equal(null);
      const byName = Object.fromEntries(out.menu!.map((p) => [p.name, p]));
      expect(Object.keys(byName)).to.have.members(['Invoices', 'overusage']);
      expect(byName.Invoices!.label).to.equal('Invoices (1 on hold)');
      expect(byName.overusage).to.deep.include({
        label: 'Bandwidth',
        order: 50,
        icon: 'fa-chart-bar',
        bodyHtml: '<p>client 3: 80 %</p>',
        extras: { color: 'teal' },
      });
      expect((byName.overusage!.children[0] as { label: string }).label).to.equal('Details');
    });

    it('hooks whose answer WHMCS ignores return nothing, whatever a handler says', async () => {
      w.extraHooks.push({ name: 'AddInvoiceLateFee', priority: 5, handler: () => ({ something: 1 }) });
      const out = await w.fire('AddInvoiceLateFee', { invoiceid: 5 });
      expect(out.ret).to.equal(null);
      expect(w.gate.seen).to.include('hook');
    });
  });

  describe('signatures', () => {
    beforeEach(async () => {
      w = await buildBridgeWorld(db, { failMode: 'closed' });
    });

    it('a bridge with another secret is refused, nothing runs, and the admin is told the secrets differ', async () => {
      let called = false;
      w.extraHooks.push({ name: 'EmailPreSend', priority: 5, handler: () => ((called = true), undefined) });
      const out = await w.fire(
        'EmailPreSend',
        { messagename: 'First Invoice Overdue Notice', relid: 41 },
        { settings: { shared_secret: 'another-secret-that-is-long-enough-0000' } },
      );
      expect(called).to.equal(false);
      // fail closed: a reminder about an invoice the service could not look at is held
      expect(out.ret).to.deep.equal({ abortsend: true });
      expect(logged(out, /shared secret in WHMCS is not the one the service has/)).to.equal(true);
      expect(logged(out, /was NOT sent \(fail closed\)/)).to.equal(true);
    });

    it('a captured request sent again is refused as a replay; changed in transit, as a bad signature', async () => {
      await w.fire('AddInvoiceLateFee', { invoiceid: 5 });
      const captured = w.gate.captured.find((c) => c.endpoint === 'hook')!;
      const send = (body: Buffer) =>
        fetch(`${w.serviceUrl}/bridge/v1/hook`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-overusage-timestamp': captured.headers['x-overusage-timestamp']!,
            'x-overusage-nonce': captured.headers['x-overusage-nonce']!,
            'x-overusage-signature': captured.headers['x-overusage-signature']!,
          },
          body,
        });
      const replay = await send(captured.body);
      expect(replay.status).to.equal(401);
      expect(await replay.json()).to.include({ code: 'replayed' });
      const tampered = await send(
        Buffer.from(captured.body.toString('utf8').replace('"invoiceid":5', '"invoiceid":6')),
      );
      expect(tampered.status).to.equal(401);
      expect(await tampered.json()).to.include({ code: 'bad_signature' });
    });

    it('an answer not signed with the secret is ignored: the fail mode applies, not the forged answer', async () => {
      const forger = express();
      forger.post('/bridge/v1/:endpoint', (_req, res) => {
        const body = JSON.stringify({
          status: 'done',
          answer: { kind: 'merge', values: { abortcmd: false, suspendreason: 'forged' } },
        });
        const ts = Math.floor(Date.now() / 1000);
        const nonce = newNonce();
        res.set({
          'x-overusage-timestamp': String(ts),
          'x-overusage-nonce': nonce,
          'x-overusage-signature': answerSignature('not-the-secret-not-the-secret-000000', {
            timestamp: ts,
            requestNonce: 'a'.repeat(32),
            nonce,
            status: 200,
            body,
          }),
        });
        res.type('application/json').send(body);
      });
      const { server, url } = await listenOn(forger);
      try {
        const out = await w.fire(
          'PreModuleSuspend',
          { params: { serviceid: 12 } },
          { settings: { service_url: url } },
        );
        expect(out.ret).to.deep.equal({ abortcmd: true });
        expect(logged(out, /not signed with the shared secret/)).to.equal(true);
      } finally {
        server.close();
      }
    });

    it('an old answer, correctly signed but for another request, is not accepted', async () => {
      // a man in the middle holding a genuine answer (say, abortsend for another email) replays it
      const genuine = JSON.stringify({
        status: 'done',
        answer: { kind: 'merge', values: { abortsend: true } },
      });
      const ts = Math.floor(Date.now() / 1000);
      const nonce = newNonce();
      const signature = answerSignature(SECRET, {
        timestamp: ts,
        requestNonce: newNonce(),
        nonce,
        status: 200,
        body: genuine,
      });
      const replayer = express();
      replayer.post('/bridge/v1/:endpoint', (_req, res) => {
        res
          .set({
            'x-overusage-timestamp': String(ts),
            'x-overusage-nonce': nonce,
            'x-overusage-signature': signature,
          })
          .type('application/json')
          .send(genuine);
      });
      const { server, url } = await listenOn(replayer);
      try {
        const out = await w.fire(
          'EmailPreSend',
          { messagename: 'Invoice Created', relid: 3 },
          { settings: { service_url: url } },
        );
        // not a guarded template: even fail-closed sends it
        expect(out.ret).to.deep.equal([]);
        expect(logged(out, /not signed with the shared secret/)).to.equal(true);
      } finally {
        server.close();
      }
    });

    it('the bridge refuses commands it does not run and applies a key only once', async () => {
      const steps = [
        {
          status: 'commands',
          conversation: 'c'.repeat(24),
          commands: [
            { key: 'w-test-1', command: 'LogActivity', params: { description: 'once only' } },
            { key: 'w-test-2', command: 'DeleteClient', params: { clientid: '1' } },
          ],
        },
        {
          status: 'commands',
          conversation: 'c'.repeat(24),
          commands: [{ key: 'w-test-1', command: 'LogActivity', params: { description: 'once only' } }],
        },
        { status: 'done', answer: { kind: 'none' } },
      ];
      const reported: unknown[] = [];
      const fake = express();
      fake.post('/bridge/v1/:endpoint', express.json(), (req, res) => {
        if (req.params.endpoint === 'results') reported.push(req.body.results);
        const body = JSON.stringify(steps.shift());
        const ts = Math.floor(Date.now() / 1000);
        const nonce = newNonce();
        const requestNonce = String(req.get('x-overusage-nonce'));
        // the fake service checks the request the way the real one does
        const raw = JSON.stringify(req.body);
        expect(
          requestSignature(SECRET, {
            timestamp: Number(req.get('x-overusage-timestamp')),
            nonce: requestNonce,
            endpoint: String(req.params.endpoint),
            body: raw,
          }),
        ).to.equal(req.get('x-overusage-signature'));
        res
          .set({
            'x-overusage-timestamp': String(ts),
            'x-overusage-nonce': nonce,
            'x-overusage-signature': answerSignature(SECRET, {
              timestamp: ts,
              requestNonce,
              nonce,
              status: 200,
              body,
            }),
          })
          .type('application/json')
          .send(body);
      });
      const { server, url } = await listenOn(fake);
      try {
        const out = await w.fire('AddInvoiceLateFee', { invoiceid: 9 }, { settings: { service_url: url } });
        expect(out.localApi).to.deep.equal(['LogActivity']);
        expect(reported[0]).to.deep.equal([
          { key: 'w-test-1', status: 'ok', result: { result: 'success' } },
          { key: 'w-test-2', status: 'refused', message: 'the bridge does not run DeleteClient' },
        ]);
        // asked again under the same key: the kept result, not a second run
        expect(reported[1]).to.deep.equal([{ key: 'w-test-1', status: 'ok', result: { result: 'success' } }]);
        expect((await knex('tblactivitylog').where({ description: 'once only' })).length).to.equal(1);
      } finally {
        server.close();
      }
    });
  });

  describe('when the service is down', () => {
    it('fail open: reminders go, suspensions go ahead, each failure is in the activity log in plain words', async () => {
      w = await buildBridgeWorld(db, { failMode: 'open' });
      const down = { settings: { service_url: await deadUrl() } };
      const email = await w.fire(
        'EmailPreSend',
        { messagename: 'First Invoice Overdue Notice', relid: 41 },
        down,
      );
      expect(email.ret).to.deep.equal([]);
      expect(
        logged(
          email,
          /^Overusage: the service could not check the email "First Invoice Overdue Notice" \(related ID 41\): could not connect to the service at 127\.0\.0\.1 .*The email was sent as usual \(fail open\)\.$/,
        ),
      ).to.equal(true);
      const suspend = await w.fire('PreModuleSuspend', { params: { serviceid: 12 } });
      expect(suspend.ret).to.deep.equal([]);
      expect(
        logged(suspend, /suspension of Service ID: 12: could not connect .* went ahead \(fail open\)/),
      ).to.equal(true);
      // the activity log is WHMCS's own: the reference panel has the entries
      expect(
        await knex('tblactivitylog').where('description', 'like', 'Overusage: the service could not check%'),
      ).to.have.length(2);
    });

    it('fail closed: dunning emails are held and suspensions postponed; other emails still go', async () => {
      w = await buildBridgeWorld(db, { failMode: 'closed' });
      const down = { settings: { service_url: await deadUrl() } };
      expect(
        (await w.fire('EmailPreSend', { messagename: 'Second Invoice Overdue Notice', relid: 41 }, down)).ret,
      ).to.deep.equal({ abortsend: true });
      expect((await w.fire('EmailPreSend', { messagename: 'Welcome Email', relid: 3 })).ret).to.deep.equal(
        [],
      );
      const suspend = await w.fire('PreModuleSuspend', { params: { serviceid: 12 } });
      expect(suspend.ret).to.deep.equal({ abortcmd: true });
      expect(logged(suspend, /postponed \(fail closed\); the next daily cron run tries again/)).to.equal(
        true,
      );
    });

    it('pages and cron hooks give WHMCS nothing to show, and a repeated failure is logged once per 15 minutes', async () => {
      w = await buildBridgeWorld(db);
      const down = { settings: { service_url: await deadUrl() } };
      const first = await w.php({
        action: 'hook',
        hook: 'ClientAreaProductDetailsOutput',
        service: { id: 9, userid: 3 },
        ...down,
      });
      expect(first.ret).to.equal('');
      expect(first.activity).to.have.length(1);
      const again = await w.php({
        action: 'hook',
        hook: 'ClientAreaProductDetailsOutput',
        service: { id: 9, userid: 3 },
      });
      expect(again.activity).to.have.length(0);
      // the count of what was left out is kept in the bridge's table
      expect(
        await knex('mod_overusage_bridge_throttle').where({ kind: 'ClientAreaProductDetailsOutput' }).first(),
      ).to.deep.include({ suppressed: 1 });
      const cron = await w.fire('AfterCronJob', {});
      expect(cron.ret).to.equal(null);
      expect(logged(cron, /could not handle AfterCronJob/)).to.equal(true);
      // once a day, before WHMCS creates invoices: each invoice's delivery rates its own services
      const pre = await w.fire('PreCronJob', {});
      expect(pre.ret).to.equal(null);
      expect(
        logged(
          pre,
          /^Overusage: the service could not handle PreCronJob: could not connect .*\. Each invoice created now rates its own services' usage as it is created; DailyCronJob rates the rest\.$/,
        ),
      ).to.equal(true);
      const panels = await w.php({
        action: 'hook',
        hook: 'ClientAreaHomepagePanels',
        session: { uid: 3 },
        menu: [{ name: 'Invoices', label: 'My Invoices', order: 200 }],
      });
      expect(panels.ret).to.equal(null);
      expect(panels.menu!.map((p) => p.name)).to.deep.equal(['Invoices']);
    });

    it('InvoiceCreation goes ahead without the line; a later cron run adds it once the service is back, never twice', async () => {
      w = await buildBridgeWorld(db);
      await closeMay(w);
      const up = w.settings.service_url!;
      const down = await deadUrl();
      // WHMCS runs its automation while the service is away
      w.f.clock.set('2013-06-02T07:00:00Z');
      await w.fire('AfterCronJob', {}, { settings: { service_url: down } });
      w.connectPanel(['InvoiceCreation']);
      await w.f.panel.runDailyAutomation('2013-06-02');
      const row = await knex('tblinvoiceitems')
        .where({ type: 'Hosting', relid: w.story.serviceId })
        .orderBy('id', 'desc')
        .first('invoiceid');
      const invoiceId = toNum(row.invoiceid);
      expect(overusageItems(await w.f.panel.api.getInvoice(invoiceId))).to.have.length(0);
      const creation = w.runs.find((r) =>
        r.activity.some((a) => a.description.includes(`Invoice ID: ${invoiceId} `)),
      )!;
      expect(
        logged(
          creation,
          new RegExp(
            `new Invoice ID: ${invoiceId} \\(could not connect .*\\)\\. The invoice goes ahead without overusage lines; they are added to it automatically once the service answers again`,
          ),
        ),
      ).to.equal(true);

      // the service is back: the next 5-minute cron delivers what it missed
      const cron = await w.fire('AfterCronJob', {}, { settings: { service_url: up } });
      expect(logged(cron, /2 missed hook call\(s\) were delivered/)).to.equal(true);
      const inv = await w.f.panel.api.getInvoice(invoiceId);
      expect(overusageItems(inv)).to.have.length(1);
      expect(inv.total).to.equal('519.95');
      expect((await knex('mod_overusage_lines').where({ invoice_id: invoiceId }).first()).status).to.equal(
        'placed',
      );
      // nothing left to deliver: more cron runs change nothing
      await w.fire('AfterCronJob', {});
      await w.fire('InvoiceCreation', { invoiceid: invoiceId });
      expect(overusageItems(await w.f.panel.api.getInvoice(invoiceId))).to.have.length(1);
    });
  });

  describe('the cron hooks’ time', () => {
    it('PreCronJob, DailyCronJob and AfterCronJob get 900 s, not the admin’s timeout: 2.5 s of work ends where another hook is given up after 1 s', async () => {
      // the relay answers "working" every 300 ms, inside the 1 s each exchange may take
      w = await buildBridgeWorld(db, { pollMs: 300 });
      const finished: string[] = [];
      for (const name of ['PreCronJob', 'DailyCronJob', 'AfterCronJob', 'AdminLogout'])
        w.extraHooks.push({
          name,
          priority: 20,
          handler: async () => {
            await new Promise((r) => setTimeout(r, 2500));
            finished.push(name);
          },
        });
      const slow = { settings: { timeout: '1' } };
      for (const cron of ['PreCronJob', 'DailyCronJob', 'AfterCronJob']) {
        const out = await w.fire(cron, {}, slow);
        expect(out.ret, cron).to.equal(null);
        expect(out.activity, cron).to.deep.equal([]);
        // the bridge waited for the work: WHMCS's next task starts after it
        expect(finished.at(-1)).to.equal(cron);
      }
      const other = await w.fire('AdminLogout', { adminid: 1 }, slow);
      expect(
        logged(other, /could not handle AdminLogout: the service did not finish within 1 seconds/),
      ).to.equal(true);
      expect(finished).not.to.include('AdminLogout');
    });
  });

  describe('relayed panel changes', () => {
    describe('a result lost on the way back: the bridge applied UpdateInvoice, the connection broke before the service heard', () => {
      let invoiceId: number;
      let update: Awaited<ReturnType<BridgeWorld['store']['list']>>[number];

      beforeEach(async () => {
        // the relay's idle timeout is the test's to fire (manualIdle), not 1.5 s of a loaded machine
        w = await buildBridgeWorld(db, { manualIdle: true });
        await closeMay(w);
        w.connectPanel(['InvoiceCreation']);
        w.gate.dropResultsOf = 'UpdateInvoice';
        w.f.clock.set('2013-06-02T07:00:00Z');
        await w.f.panel.runDailyAutomation('2013-06-02');
        const row = await knex('tblinvoiceitems')
          .where({ type: 'Hosting', relid: w.story.serviceId })
          .orderBy('id', 'desc')
          .first('invoiceid');
        invoiceId = toNum(row.invoiceid);
        update = (await w.store.list()).find((c) => c.command === 'UpdateInvoice')!;
      });

      /** The relay's idle timeout says the bridge is gone; then WHMCS's next 5-minute cron run. */
      async function timeoutThenCron() {
        w.idle!.expire();
        // the hook's work sees the timeout, queues its note about the interruption for the
        // bridge's next visit and ends: wait for that event (the writes), however slow the machine
        while (w.relay.active() > 0) await new Promise((r) => setTimeout(r, 10));
        return w.fire('AfterCronJob', {});
      }

      it("has the line on the invoice once, still pending, and keeps the hook's conversation open until the relay's 8 s idle timeout", async () => {
        expect(overusageItems(await w.f.panel.api.getInvoice(invoiceId))).to.have.length(1);
        expect((await knex('mod_overusage_lines').where({ invoice_id: invoiceId }).first()).status).to.equal(
          'pending',
        );
        expect(update.status).to.equal('handed_out');
        // the conversation still waits for UpdateInvoice's result: nothing else ends it
        expect(w.relay.active()).to.equal(1);
        expect(w.idle!.armed()).to.deep.equal([8000]);
        expect(w.idle!.expire()).to.equal(1);
      });

      it('is reported on the next cron run: the line confirmed once at €519.95, UpdateInvoice not applied again', async () => {
        const cron = await timeoutThenCron();
        expect(cron.localApi.filter((c) => c === 'UpdateInvoice')).to.deep.equal([]);
        expect((await w.store.get(update.key))!.status).to.equal('done');
        const inv = await w.f.panel.api.getInvoice(invoiceId);
        expect(overusageItems(inv)).to.have.length(1);
        expect(inv.total).to.equal('519.95');
        expect((await knex('mod_overusage_lines').where({ invoice_id: invoiceId }).first()).status).to.equal(
          'placed',
        );
      });

      it('leaves nothing queued, to report or to re-deliver after that run, and keeps the result under its key', async () => {
        await timeoutThenCron();
        // queued writes (the service's activity-log note) were handed over on that cron run
        expect(await w.store.list({ status: 'queued' })).to.deep.equal([]);
        expect(await w.store.list({ status: 'handed_out' })).to.deep.equal([]);
        // and nothing is left for the bridge to report or re-deliver (its tables in WHMCS's database)
        expect(await knex('mod_overusage_bridge_missed')).to.deep.equal([]);
        const outbox = await knex('mod_overusage_bridge_outbox').select('command', 'state', 'result');
        expect(outbox.length).to.be.greaterThan(0);
        expect(outbox.every((r) => r.state === 'reported')).to.equal(true);
        // the UpdateInvoice result is kept, so the same key handed out again is not applied twice
        expect(JSON.parse(outbox.find((r) => r.command === 'UpdateInvoice')!.result)).to.deep.include({
          result: 'success',
        });
      });
    });

    it('a command localAPI throws on is reported "unknown", not repeated under its key; the next delivery still places the line once', async () => {
      w = await buildBridgeWorld(db);
      await closeMay(w);
      w.f.clock.set('2013-06-02T07:00:00Z');
      await w.f.panel.runDailyAutomation('2013-06-02');
      const row = await knex('tblinvoiceitems')
        .where({ type: 'Hosting', relid: w.story.serviceId })
        .orderBy('id', 'desc')
        .first('invoiceid');
      const invoiceId = toNum(row.invoiceid);
      const broken = await w.fire(
        'InvoiceCreation',
        { invoiceid: invoiceId },
        { failLocalApi: ['UpdateInvoice'] },
      );
      expect(broken.ret).to.equal(null);
      const first = (await w.store.list()).find((c) => c.command === 'UpdateInvoice')!;
      expect(first).to.deep.include({
        status: 'unknown',
        message: 'localAPI failed: injected localAPI failure',
      });
      expect(overusageItems(await w.f.panel.api.getInvoice(invoiceId))).to.have.length(0);
      // the service noted its failure in WHMCS's activity log, through the bridge, in the same call
      expect(broken.localApi).to.include('LogActivity');
      expect(
        await knex('tblactivitylog').where(
          'description',
          'like',
          `Overusage: could not add overusage lines to invoice ${invoiceId}%`,
        ),
      ).to.have.length(1);

      const again = await w.fire('InvoiceCreation', { invoiceid: invoiceId });
      expect(again.localApi.filter((c) => c === 'UpdateInvoice')).to.have.length(1);
      const updates = (await w.store.list()).filter((c) => c.command === 'UpdateInvoice');
      expect(updates.map((u) => u.status)).to.deep.equal(['unknown', 'done']);
      expect(updates[1]!.key).to.not.equal(first.key);
      expect(overusageItems(await w.f.panel.api.getInvoice(invoiceId))).to.have.length(1);
      expect((await knex('mod_overusage_lines').where({ invoice_id: invoiceId }).first()).status).to.equal(
        'placed',
      );
    });

    it("works the same over PHP's HTTP streams when the curl extension is missing", async () => {
      w = await buildBridgeWorld(db);
      await closeMay(w);
      w.f.clock.set('2013-06-02T07:00:00Z');
      await w.f.panel.runDailyAutomation('2013-06-02');
      const row = await knex('tblinvoiceitems')
        .where({ type: 'Hosting', relid: w.story.serviceId })
        .orderBy('id', 'desc')
        .first('invoiceid');
      const out = await w.fire(
        'InvoiceCreation',
        { invoiceid: toNum(row.invoiceid), source: 'autogen' },
        { noCurl: true },
      );
      expect(out.localApi).to.include('UpdateInvoice');
      expect(overusageItems(await w.f.panel.api.getInvoice(toNum(row.invoiceid)))).to.have.length(1);
    });

    it("with WHMCS's External API reachable, the service calls it itself and the bridge only relays the hook", async () => {
      w = await buildBridgeWorld(db, { mode: 'api' });
      await closeMay(w);
      w.connectPanel(['InvoiceCreation']);
      w.f.clock.set('2013-06-02T07:00:00Z');
      await w.f.panel.runDailyAutomation('2013-06-02');
      const row = await knex('tblinvoiceitems')
        .where({ type: 'Hosting', relid: w.story.serviceId })
        .orderBy('id', 'desc')
        .first('invoiceid');
      const inv = await w.f.panel.api.getInvoice(toNum(row.invoiceid));
      expect(overusageItems(inv)).to.have.length(1);
      expect(w.runs.flatMap((r) => r.localApi).filter((c) => c !== 'LogActivity')).to.deep.equal([]);
      expect(await w.store.list()).to.deep.equal([]);
    });
  });

  describe('TLS', () => {
    for (const transport of ['curl', 'streams'] as const) {
      it(`verifies the service's certificate by default (${transport}), and accepts it with the admin's CA file`, async function () {
        if (transport === 'curl') requireCurl(this);
        const cert = await testCert();
        w = await buildBridgeWorld(db, { tls: cert });
        const noCurl = transport === 'streams';
        const refused = await w.php({
          action: 'hook',
          hook: 'ClientAreaProductDetailsOutput',
          service: { id: 9, userid: 3 },
          noCurl,
        });
        expect(refused.ret).to.equal('');
        expect(logged(refused, /TLS certificate could not be verified/)).to.equal(true);
        const caFile = `${w.dir}/ca.pem`;
        (await import('node:fs')).writeFileSync(caFile, cert.cert);
        w.extraHooks.push({
          name: 'ClientAreaProductDetailsOutput',
          priority: 5,
          handler: () => '<p>over TLS</p>',
        });
        const ok = await w.php({
          action: 'hook',
          hook: 'ClientAreaProductDetailsOutput',
          service: { id: 9, userid: 3 },
          noCurl,
          settings: { ca_file: caFile },
        });
        expect(ok.ret).to.equal('<p>over TLS</p>');
      });
    }
  });
});
