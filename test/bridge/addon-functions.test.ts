import { expect } from 'chai';
import type { Knex } from 'knex';
import type { TestDatabase } from '../support/engines.js';
import {
  BRIDGE_TABLES,
  bridgeDatabase,
  buildBridgeWorld,
  deadUrl,
  phpErrors,
  SECRET,
  whmcsToken,
  type BridgeWorld,
  type HarnessOutput,
} from './support.js';
import { CLI_ACTOR } from '../support/module-fixture.js';

const logged = (out: HarnessOutput, re: RegExp) => out.activity.some((a) => re.test(a.description));

/**
 * The addon's own functions under php-cli, with WHMCS's database layer for real (Illuminate's
 * Capsule on MariaDB, WHMCS's tables): activation creates the bridge's tables with
 * Capsule::schema(), upgrade brings an older install's data over, deactivation drops them only
 * when the admin chose to delete the data; the admin tab and the client page relay a POST only with
 * WHMCS's CSRF token; every request to the service is in WHMCS's module log, secrets masked; the
 * bridge's own words come in the session's language.
 */
describe('the WHMCS addon functions under php-cli (real Capsule on MariaDB)', function () {
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

  beforeEach(async () => {
    w = await buildBridgeWorld(db);
  });

  afterEach(async () => {
    const world = w;
    w = undefined as unknown as BridgeWorld;
    await world?.close();
    // no PHP error, warning, notice or deprecation in any run of the test
    if (world) expect(phpErrors(world.runs), 'PHP reported').to.deep.equal([]);
  });

  const tables = async () => {
    const out: string[] = [];
    for (const t of BRIDGE_TABLES) if (await knex.schema.hasTable(t)) out.push(t);
    return out;
  };

  describe('activate, upgrade, deactivate', () => {
    it('activate before the URL and secret are set: the tables are made, the service is not asked yet', async () => {
      expect(await tables()).to.deep.equal([]);
      const out = await w.php({ action: 'activate', settings: { service_url: '', shared_secret: '' } });
      expect(out.ret).to.deep.equal({
        status: 'success',
        description:
          'Overusage is active. Now click Configure and set the service URL and the shared secret.',
      });
      expect(w.gate.seen).to.deep.equal([]);
      expect(await tables()).to.deep.equal(BRIDGE_TABLES);
      // made by Capsule::schema() as declared: the command key is unique, so a key cannot be claimed twice
      const [indexes] = (await knex.raw('SHOW INDEX FROM mod_overusage_bridge_outbox WHERE Column_name = ?', [
        'command_key',
      ])) as [Array<{ Non_unique: number }>];
      expect(indexes.map((i) => Number(i.Non_unique))).to.deep.equal([0]);
      // activating again (WHMCS allows it after a deactivation that kept the data) changes nothing
      const again = await w.php({ action: 'activate' });
      expect(again.ret).to.deep.include({ status: 'success' });
    });

    it('activate, upgrade and deactivate are relayed; with the data kept, the bridge keeps its tables too', async () => {
      const act = await w.php({
        action: 'activate',
        settings: { service_url: w.serviceUrl, shared_secret: SECRET },
      });
      expect(act.ret).to.deep.include({ status: 'success' });
      expect((act.ret as { description: string }).description).to.match(/^Overusage is active/);
      await w.php({ action: 'upgrade', fromVersion: '0.0.9' });
      expect(w.addonCalls.map((c) => c.fn)).to.deep.equal(['activate', 'upgrade']);
      expect(w.addonCalls[1]!.vars).to.deep.equal({ version: '0.0.9' });
      const deact = await w.php({ action: 'deactivate' });
      expect(deact.ret).to.deep.equal({
        status: 'success',
        description: 'Overusage is deactivated; its data is kept and will be used again on activation.',
      });
      expect(await knex.schema.hasTable('mod_overusage_samples')).to.equal(true);
      expect(await tables()).to.deep.equal(BRIDGE_TABLES);
    });

    it("deactivate when the admin chose to delete the data: the service's tables and the bridge's are gone", async () => {
      await w.php({ action: 'activate' });
      await w.mod.settings.set({ drop_data_on_deactivate: 'on' }, CLI_ACTOR);
      const out = await w.php({ action: 'deactivate' });
      expect(out.ret).to.deep.equal({
        status: 'success',
        description:
          "Overusage is deactivated and its data deleted. The bridge's tables in the WHMCS database were deleted too.",
      });
      expect(await knex.schema.hasTable('mod_overusage_samples')).to.equal(false);
      expect(await tables()).to.deep.equal([]);
      // WHMCS's own tables are untouched
      expect(await knex.schema.hasTable('tbladdonmodules')).to.equal(true);
    });

    it('deactivating works with the service gone, says the service was not told, and keeps the tables', async () => {
      await w.php({ action: 'activate' });
      const out = await w.php({ action: 'deactivate', settings: { service_url: await deadUrl() } });
      expect(out.ret).to.deep.include({ status: 'info' });
      expect((out.ret as { description: string }).description).to.match(
        /the service could not be told: The Overusage service could not be reached: could not connect/,
      );
      expect(await tables()).to.deep.equal(BRIDGE_TABLES);
    });

    it("upgrade from 0.1.0's JSON rows in tbladdonmodules: the tables are made, the rows moved, a moved result is still answered once", async () => {
      // what version 0.1.0 left behind: an applied command, a missed hook, a throttle note
      await knex('tbladdonmodules').insert([
        {
          module: 'overusage',
          setting: 'bridge_outbox_w-legacy-1',
          value: JSON.stringify({
            state: 'done',
            command: 'LogActivity',
            result: { result: 'success' },
            at: 1_700_000_000,
          }),
        },
        {
          module: 'overusage',
          setting: 'bridge_missed_1700000000000_abcd',
          value: JSON.stringify({
            hook: 'InvoiceCreation',
            vars: { invoiceid: 77 },
            firedAt: '2023-11-14T22:13:20Z',
          }),
        },
        {
          module: 'overusage',
          setting: 'bridge_logged_AfterCronJob',
          value: JSON.stringify({ at: 1_700_000_000, suppressed: 3 }),
        },
        // not one of the bridge's (LIKE's _ matches any character): stays
        { module: 'overusage', setting: 'bridgeXnote', value: 'keep me' },
      ]);
      const out = await w.php({
        action: 'upgrade',
        fromVersion: '0.1.0-json',
        settings: { service_url: w.serviceUrl, shared_secret: SECRET },
      });
      expect(
        logged(
          out,
          /^Overusage: upgraded from version 0\.1\.0-json to \d+\.\d+\.\d+: created mod_overusage_bridge_outbox; created mod_overusage_bridge_missed; created mod_overusage_bridge_throttle; moved 3 row\(s\) of version 0\.1\.0 out of tbladdonmodules\.$/,
        ),
      ).to.equal(true);
      expect(
        (
          await knex('tbladdonmodules').where({ module: 'overusage' }).andWhere('setting', 'like', 'bridge%')
        ).map((r) => r.setting),
      ).to.deep.equal(['bridgeXnote']);
      const outbox = await knex('mod_overusage_bridge_outbox').select(
        'command_key',
        'command',
        'state',
        'result',
      );
      expect(outbox).to.deep.equal([
        { command_key: 'w-legacy-1', command: 'LogActivity', state: 'done', result: '{"result":"success"}' },
      ]);
      expect(await knex('mod_overusage_bridge_missed').select('hook', 'vars', 'fired_at')).to.deep.equal([
        { hook: 'InvoiceCreation', vars: '{"invoiceid":77}', fired_at: '2023-11-14T22:13:20Z' },
      ]);
      // upgrading again moves nothing and says nothing
      const again = await w.php({ action: 'upgrade', fromVersion: '0.1.0-json' });
      expect(logged(again, /upgraded from/)).to.equal(false);
    });
  });

  describe("WHMCS's CSRF token", () => {
    const tkval = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    const token = whmcsToken(tkval);

    it("the admin tab relays a POST with the session's token, without the token, for the admin of the session whatever the browser claims", async () => {
      const out = await w.php({
        action: 'output',
        session: { adminid: 4, tkval },
        get: { module: 'overusage', adminid: '1' },
        post: { adminid: '1', token },
        method: 'POST',
      });
      const call = w.addonCalls.find((c) => c.fn === 'output')!;
      // WHMCS echoes exactly the page the module rendered
      expect(call.result).to.be.a('string').and.not.equal('');
      expect(out.echoed).to.equal(call.result);
      expect(call.vars).to.deep.include({ adminid: 4, modulelink: 'addonmodules.php?module=overusage' });
      expect(call.vars.request).to.deep.equal({
        method: 'POST',
        query: { module: 'overusage', adminid: '1' },
        body: { adminid: '1' },
      });
      expect(out.tokenRefused).to.equal(null);
    });

    it('the admin tab: a POST without a valid token ends at check_token, and the service hears nothing', async () => {
      for (const post of [
        { do: 'save_settings', sample_at: '04:00' },
        { do: 'save_settings', sample_at: '04:00', token: whmcsToken('another-session') },
      ]) {
        const out = await w.php({ action: 'output', session: { adminid: 1, tkval }, post, method: 'POST' });
        expect(out.echoed).to.equal('Invalid Token');
        expect(out.tokenRefused).to.equal('WHMCS.admin.default');
      }
      expect(w.gate.seen).to.deep.equal([]);
      expect(await w.mod.settings.get('sample_at')).to.not.equal('04:00');
    });

    it('the admin tab: where check_token answers false instead, the bridge refuses by itself and shows the page unchanged', async () => {
      const out = await w.php({
        action: 'output',
        session: { adminid: 1, tkval },
        get: { a: 'settings' },
        post: { do: 'save_settings', sample_at: '04:00' },
        method: 'POST',
        tokenFailure: 'false',
      });
      expect(out.echoed).to.match(
        /^<div class="alert alert-danger" role="alert">Nothing was changed: the form had expired or did not come from this page\. Please try again\.<\/div>/,
      );
      // the page was asked for as a GET: nothing was acted upon
      const call = w.addonCalls.find((c) => c.fn === 'output')!;
      expect(call.vars.request).to.deep.equal({ method: 'GET', query: { a: 'settings' }, body: {} });
      expect(await w.mod.settings.get('sample_at')).to.not.equal('04:00');
      expect(
        logged(
          out,
          /^Overusage: a form sent to the admin tab was refused \(admin ID 1\): its CSRF token was missing or wrong\. Nothing was changed\.$/,
        ),
      ).to.equal(true);
    });

    it('the client page: a POST without a valid token ends at check_token (the session is ended), and the service hears nothing', async () => {
      const out = await w.php({
        action: 'clientarea',
        session: { uid: w.story.clientId, tkval },
        post: { do: 'dispute', line: '1', reason: 'not mine' },
        method: 'POST',
      });
      expect(out.tokenRefused).to.equal('WHMCS.default');
      expect(out.ret).to.equal(null);
      expect(w.gate.seen).to.deep.equal([]);
    });

    it('the client page: where check_token answers false, the bridge refuses by itself, in the client’s language', async () => {
      const out = await w.php({
        action: 'clientarea',
        session: { uid: w.story.dutchClientId, tkval, Language: 'dutch' },
        post: { do: 'dispute', line: '1', reason: 'niet van mij' },
        method: 'POST',
        tokenFailure: 'false',
      });
      const html = (out.ret as { vars: { overusage_html: string } }).vars.overusage_html;
      expect(html).to.match(
        /^<div class="alert alert-danger" role="alert">Er is niets gewijzigd: het formulier was verlopen of kwam niet van deze pagina\. Probeer het opnieuw\.<\/div>/,
      );
      expect(w.addonCalls.find((c) => c.fn === 'clientarea')!.vars.request).to.deep.equal({
        method: 'GET',
        query: {},
        body: {},
      });
      // the client page goes on with the client's page
      expect(html).to.include('class="ou ou-client"');
    });

    it('with a valid token the client page relays the POST', async () => {
      await w.php({
        action: 'clientarea',
        session: { uid: w.story.clientId, tkval },
        post: { do: 'withdraw', dispute: '999', token },
        method: 'POST',
      });
      expect(w.addonCalls.find((c) => c.fn === 'clientarea')!.vars.request).to.deep.equal({
        method: 'POST',
        query: {},
        body: { do: 'withdraw', dispute: '999' },
      });
    });
  });

  describe('pages', () => {
    it('the admin tab without an admin session asks the service nothing', async () => {
      const out = await w.php({ action: 'output', get: { adminid: '1' } });
      expect(out.echoed).to.include('no administrator is logged in');
      expect(w.gate.seen).to.deep.equal([]);
    });

    it('the client page shows the signed-in client’s usage; without a session WHMCS asks for a login', async () => {
      const page = await w.php({
        action: 'clientarea',
        session: { uid: w.story.clientId },
        get: { m: 'overusage', clientid: '999' },
      });
      const ret = page.ret as {
        templatefile: string;
        requirelogin: boolean;
        pagetitle: string;
        vars: { overusage_html: string };
      };
      const call = w.addonCalls.find((c) => c.fn === 'clientarea')!;
      expect(call.vars).to.deep.include({ clientid: w.story.clientId, modulelink: 'index.php?m=overusage' });
      const module = call.result as { pagetitle: string; templatefile: string };
      // the module's page, rendered by the service from its template, in WHMCS's clientarea.tpl
      expect(ret).to.deep.include({
        templatefile: 'clientarea',
        requirelogin: true,
        pagetitle: module.pagetitle,
      });
      expect(ret.vars.overusage_html).to.be.a('string').and.not.equal('');
      expect(ret.vars.overusage_html).to.not.include('cannot be shown right now');
      expect(page.activity).to.deep.equal([]);
      const anonymous = await w.php({ action: 'clientarea', get: { clientid: String(w.story.clientId) } });
      expect(anonymous.ret).to.deep.include({ requirelogin: true, pagetitle: 'Bandwidth usage' });
      expect((anonymous.ret as { vars: { overusage_html: string } }).vars.overusage_html).to.equal('');
      expect(w.gate.seen.filter((e) => e === 'clientarea')).to.have.length(1);
    });

    it('with the service down the admin tab says so, and the client page apologises in the client’s language; both are logged', async () => {
      const down = await deadUrl();
      const tab = await w.php({ action: 'output', session: { adminid: 1 }, settings: { service_url: down } });
      expect(tab.echoed).to.include('The Overusage service cannot be reached.');
      expect(logged(tab, /the admin tab could not be shown: could not connect/)).to.equal(true);
      const page = await w.php({ action: 'clientarea', session: { uid: 3 } });
      expect((page.ret as { vars: { overusage_html: string } }).vars.overusage_html).to.include(
        'cannot be shown right now',
      );
      expect(logged(page, /the usage page could not be shown to client 3/)).to.equal(true);
      const dutch = await w.php({ action: 'clientarea', session: { uid: 4, Language: 'dutch' } });
      expect(dutch.ret).to.deep.include({ pagetitle: 'Dataverkeer' });
      expect((dutch.ret as { vars: { overusage_html: string } }).vars.overusage_html).to.equal(
        '<div class="alert alert-warning" role="alert">Uw verbruikscijfers kunnen nu niet getoond worden. Probeer het later opnieuw.</div>',
      );
    });
  });

  describe("WHMCS's module log", () => {
    it('has every request to the service with its answer, and neither the shared secret nor a token', async () => {
      const tkval = 'f'.repeat(32);
      const out = await w.php({ action: 'output', session: { adminid: 1, tkval }, get: { a: 'settings' } });
      const tab = out.moduleLog.filter((e) => e.action === 'output');
      expect(tab).to.have.length(1);
      expect(tab[0]!.module).to.equal('overusage');
      // what was sent, as JSON (PHP writes an empty array as []): the page asked for
      expect(JSON.parse(tab[0]!.request)).to.deep.include({
        modulelink: 'addonmodules.php?module=overusage',
        request: { method: 'GET', query: { a: 'settings' }, body: [] },
      });
      // the service asked for panel reads through the bridge (relay mode): each round trip is logged, the last one done
      expect(out.moduleLog.map((e) => e.action)).to.deep.equal([
        'output',
        ...Array(out.moduleLog.length - 1).fill('results'),
      ]);
      expect(out.moduleLog.map((e) => e.processed)).to.deep.equal([
        ...Array(out.moduleLog.length - 1).fill('commands'),
        'done',
      ]);
      expect(out.moduleLog.at(-1)!.response).to.include('"status":"done"');
      // the identity token and WHMCS's form token were masked; the secret was never in it
      const identity = w.gate.captured.find((c) => c.endpoint === 'output')!.body.toString('utf8');
      const sent = JSON.parse(identity) as { identity: string; csrf: { value: string } };
      expect(sent.csrf.value).to.equal(whmcsToken(tkval));
      for (const e of out.moduleLog) {
        for (const secret of [SECRET, sent.identity, sent.csrf.value]) {
          expect(e.request).to.not.include(secret);
          expect(e.response).to.not.include(secret);
        }
      }
      expect(JSON.parse(tab[0]!.request).identity).to.match(/^\*+$/);

      const hook = await w.fire('AddInvoiceLateFee', { invoiceid: 5 });
      expect(hook.moduleLog.map((e) => e.action)).to.deep.equal(['hook']);
      const down = await w.php({
        action: 'hook',
        hook: 'AddInvoiceLateFee',
        vars: { invoiceid: 6 },
        settings: { service_url: await deadUrl() },
      });
      expect(down.moduleLog).to.have.length(1);
      expect(down.moduleLog[0]!.processed).to.match(/^failed: could not connect to the service/);
    });
  });
});
