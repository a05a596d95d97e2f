import { expect } from 'chai';
import { createLogger, type Logger } from '../../module/adapters/logger.js';
import type { InvoiceLineService } from '../../module/services/invoice-lines.js';
import { AdminLogout } from '../../hooks/AdminLogout.js';
import { ClientAreaHomepagePanels, type HomePanelContent } from '../../hooks/ClientAreaHomepagePanels.js';
import { ClientAreaProductDetailsOutput } from '../../hooks/ClientAreaProductDetailsOutput.js';
import { InvoiceCreation } from '../../hooks/InvoiceCreation.js';
import { moduleHooks, type HookDeps, type HookVars } from '../../hooks/index.js';

/**
 * The invoice, logout and client page hooks as WHMCS calls them: what they do with the variables
 * and menu the panel hands them, and what an operator reads in the log when the module fails.
 * The services behind them are stand-ins that record what they were asked; the pages themselves
 * are tested in test/panel/web-client.test.ts and the lines in test/services/invoice-lines.test.ts.
 */
function logged() {
  const lines: Array<Record<string, unknown>> = [];
  const log: Logger = createLogger({
    level: 'debug',
    write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>),
  });
  return { log, events: () => lines.map(({ at: _at, ...rest }) => rest) };
}
const call = (h: { handler: (v: HookVars) => unknown }, vars: unknown) =>
  h.handler(vars as HookVars) as Promise<unknown>;

describe('the invoice, logout and client page hooks with what the panel hands them', () => {
  describe('InvoiceCreation', () => {
    function fixture(fails?: string) {
      const asked: number[] = [];
      const activity: string[] = [];
      const { log, events } = logged();
      const lines = {
        async addToRenewalInvoice(invoiceId: number) {
          asked.push(invoiceId);
          if (fails) throw new Error(fails);
          return {
            invoiceId,
            added: 1,
            alreadyPlaced: 0,
            skipped: [{ chargeId: 5, reason: 'currency differs' }],
          };
        },
      } as unknown as InvoiceLineService;
      const hook = InvoiceCreation({ lines, log, logActivity: async (t) => void activity.push(t) });
      return { asked, activity, events, run: (vars: unknown) => call(hook, vars) };
    }

    it('adds the lines of invoice 41, and logs each charge it could not place', async () => {
      const f = fixture();
      expect(await f.run({ invoiceid: '41' })).to.equal(undefined);
      expect(f.asked).to.deep.equal([41]);
      expect(f.events()).to.deep.equal([
        {
          level: 'warn',
          event: 'hook.invoice_creation.skipped',
          invoiceId: 41,
          chargeId: 5,
          reason: 'currency differs',
        },
      ]);
    });

    it('never places lines on a missing, zero, negative or non-numeric invoice id, and logs what it was given', async () => {
      const f = fixture();
      for (const invoiceid of [undefined, 0, '-41', 'abc', 41.5]) await f.run({ invoiceid });
      expect(f.asked).to.deep.equal([]);
      expect(f.events().map((e) => e.invoiceid)).to.deep.equal(['undefined', '0', '-41', 'abc', '41.5']);
      expect(
        f.events().every((e) => e.level === 'warn' && e.event === 'hook.invoice_creation.bad_vars'),
      ).to.equal(true);
    });

    it('lets the invoice be created when placing fails, with an error log and a line in the panel activity log', async () => {
      const f = fixture('lease held by another process');
      expect(await f.run({ invoiceid: 41 })).to.equal(undefined);
      expect(f.events()).to.deep.equal([
        {
          level: 'error',
          event: 'hook.invoice_creation.failed',
          invoiceId: 41,
          error: 'Error',
        },
      ]);
      expect(f.activity).to.deep.equal(['Overusage: could not add overusage lines to invoice 41: Error']);
    });
  });

  describe('InvoiceCreation answering before the lines are recorded placed', () => {
    it('returns to the panel once invoice 41 holds its lines, and logs a failure of the record that follows', async () => {
      const { log, events } = logged();
      let recorded!: (failure?: Error) => void;
      const lines = {
        addToRenewalInvoice(_id: number, answer?: () => void) {
          answer?.(); // the line is on the invoice
          return new Promise((resolve, reject) => {
            recorded = (failure) =>
              failure ? reject(failure) : resolve({ invoiceId: 41, added: 1, alreadyPlaced: 0, skipped: [] });
          });
        },
      } as unknown as InvoiceLineService;
      const activity: string[] = [];
      const hook = InvoiceCreation({ lines, log, logActivity: async (t) => void activity.push(t) });
      // the handler returns although the record has not finished
      expect(await call(hook, { invoiceid: 41 })).to.equal(undefined);
      expect(events()).to.deep.equal([]);
      recorded(new Error('database went away'));
      await new Promise((r) => setImmediate(r));
      expect(events()).to.deep.equal([
        { level: 'error', event: 'hook.invoice_creation.failed', invoiceId: 41, error: 'Error' },
      ]);
      expect(activity).to.deep.equal(['Overusage: could not add overusage lines to invoice 41: Error']);
    });
  });

  describe('InvoiceCreation on a host without a panel activity log', () => {
    it('lets the invoice be created when placing fails, with only the error log', async () => {
      const { log, events } = logged();
      const lines = {
        addToRenewalInvoice: async () => {
          throw new Error('lease held by another process');
        },
      } as unknown as InvoiceLineService;
      const hook = InvoiceCreation({ lines, log });
      expect(await call(hook, { invoiceid: 41 })).to.equal(undefined);
      expect(events()).to.deep.equal([
        {
          level: 'error',
          event: 'hook.invoice_creation.failed',
          invoiceId: 41,
          error: 'Error',
        },
      ]);
    });
  });

  describe('AdminLogout', () => {
    it("revokes admin 3's tab tokens, never an id that is missing, zero or not a number, and logs a failure", async () => {
      const revoked: number[] = [];
      const { log, events } = logged();
      let fail = false;
      const hook = AdminLogout({
        revokeAdminSessions: async (id) => {
          if (fail) throw new Error('database is locked');
          revoked.push(id);
        },
        log,
      });
      await call(hook, { adminid: '3' });
      // the first admin of every installation is admin 1
      await call(hook, { adminid: 1 });
      for (const adminid of [undefined, 0, -3, 'abc', 3.5]) await call(hook, { adminid });
      expect(revoked).to.deep.equal([3, 1]);
      fail = true;
      expect(await call(hook, { adminid: 4 })).to.equal(undefined);
      expect(events()).to.deep.equal([
        { level: 'error', event: 'hook.admin_logout.failed', adminId: 4, error: 'Error' },
      ]);
    });
  });

  describe('ClientAreaHomepagePanels', () => {
    const CONTENT: HomePanelContent = {
      label: 'Bandwidth usage',
      bodyHtml: '<p>612 GB of 1 000 GB</p>',
      btnLink: '/usage',
      btnText: 'Details',
      badge: '1',
    };
    function menu(context: Record<string, unknown>) {
      const children: Array<[string, Record<string, unknown>]> = [];
      return {
        children,
        addChild: (name: string, opts: Record<string, unknown>) => children.push([name, opts]),
        context: (k: string) => context[k] ?? null,
      };
    }
    function fixture(answer: HomePanelContent | null | Error = CONTENT) {
      const asked: unknown[] = [];
      const { log, events } = logged();
      const hook = ClientAreaHomepagePanels({
        homePanel: async (...args) => {
          asked.push(args);
          if (answer instanceof Error) throw answer;
          return answer;
        },
        log,
      });
      return { asked, events, run: (m: unknown) => call(hook, m) };
    }

    it("adds the panel for the client in the menu's context, in the client's language, with the host's settings", async () => {
      const f = fixture();
      const m = menu({
        client: { id: 12, language: 'dutch' },
        host: { assets: '/modules/addons/overusage' },
      });
      await f.run(m);
      expect(f.asked).to.deep.equal([[12, 'dutch', { assets: '/modules/addons/overusage' }]]);
      expect(m.children).to.deep.equal([
        [
          'overusage',
          {
            label: 'Bandwidth usage',
            order: 150,
            bodyHtml: '<p>612 GB of 1 000 GB</p>',
            badge: '1',
            extras: { 'btn-link': '/usage', 'btn-text': 'Details' },
          },
        ],
      ]);
    });

    it('leaves the badge out when there is none, and passes no language or host when the context has none', async () => {
      const f = fixture({ ...CONTENT, badge: '' });
      const m = menu({ client: { id: '12', language: 7 }, host: 'not an object' });
      await f.run(m);
      expect(f.asked).to.deep.equal([[12, null, {}]]);
      expect(m.children[0]![1]).to.not.have.property('badge');
    });

    it('adds nothing for a client it cannot name, a menu without addChild, or no content', async () => {
      const f = fixture();
      for (const client of [null, {}, { id: 0 }, { id: -12 }, { id: 'abc' }, { id: 12.5 }]) {
        const m = menu({ client });
        await f.run(m);
        expect(m.children, JSON.stringify(client)).to.deep.equal([]);
      }
      expect(f.asked).to.deep.equal([]);
      expect(await f.run(null)).to.equal(undefined);
      expect(await f.run({ addChild: 'no' })).to.equal(undefined);
      // a menu that names the client but cannot take a child: nothing is built, nothing fails
      expect(await f.run({ addChild: 'no', context: () => ({ id: 12 }) })).to.equal(undefined);
      expect(f.events()).to.deep.equal([]);
      const none = fixture(null);
      const m = menu({ client: { id: 12 } });
      await none.run(m);
      expect(m.children).to.deep.equal([]);
      // no content (no metered VPS) is not a failure: nothing in the log
      expect(none.events()).to.deep.equal([]);
    });

    it('shows the page without the panel when building it fails, and logs the client and error', async () => {
      const f = fixture(new Error('database is locked'));
      const m = menu({ client: { id: 12 } });
      expect(await f.run(m)).to.equal(undefined);
      expect(m.children).to.deep.equal([]);
      expect(f.events()).to.deep.equal([
        { level: 'warn', event: 'hook.homepage_panel_failed', clientId: 12, error: 'Error' },
      ]);
    });
  });

  describe('ClientAreaProductDetailsOutput', () => {
    function fixture(fails?: string) {
      const asked: unknown[] = [];
      const { log, events } = logged();
      const hook = ClientAreaProductDetailsOutput({
        productDetails: async (...args) => {
          asked.push(args);
          if (fails) throw new Error(fails);
          return '<div>612 GB</div>';
        },
        languageOf: async (clientId) => (clientId === 12 ? 'dutch' : 'english'),
        log,
      });
      return { asked, events, run: (vars: unknown) => call(hook, vars) };
    }

    it("gives service 7's block in its client's language, with the host's settings", async () => {
      const f = fixture();
      expect(await f.run({ service: { id: '7', userid: '12' }, host: { downloads: 'relay' } })).to.equal(
        '<div>612 GB</div>',
      );
      expect(await f.run({ service: { id: 8, userid: 13 }, host: 'x' })).to.equal('<div>612 GB</div>');
      expect(f.asked).to.deep.equal([
        [7, 12, 'dutch', { downloads: 'relay' }],
        [8, 13, 'english', {}],
      ]);
    });

    it('gives nothing for a service or client it cannot name', async () => {
      const f = fixture();
      for (const service of [
        undefined,
        {},
        { id: 0, userid: 12 },
        { id: -7, userid: 12 },
        { id: 'x', userid: 12 },
        { id: 7, userid: 0 },
        { id: 7, userid: -12 },
        { id: 7, userid: 'x' },
        { id: 7.5, userid: 12 },
      ]) {
        expect(await f.run({ service }), JSON.stringify(service)).to.equal('');
      }
      expect(f.asked).to.deep.equal([]);
    });

    it('shows the page without the block when building it fails, and logs the service and error', async () => {
      const f = fixture('database is locked');
      expect(await f.run({ service: { id: 7, userid: 12 } })).to.equal('');
      expect(f.events()).to.deep.equal([
        { level: 'warn', event: 'hook.product_details_failed', serviceId: 7, error: 'Error' },
      ]);
    });
  });

  it('registers each hook under its WHMCS name, at priority 10, and only those it has the services for', () => {
    const some = {
      metering: {},
      settings: {},
      clock: {},
      zone: 'Europe/Brussels',
      log: logged().log,
    } as unknown as HookDeps;
    const names = (deps: HookDeps) => moduleHooks(deps).map((h) => `${h.name}/${h.priority}`);
    expect(names(some)).to.deep.equal(['DailyCronJob/10', 'AfterCronJob/10']);
    const all = {
      ...some,
      rateBeforeInvoicing: async () => ({ periods: 0, pools: 0, poolsWait: false }),
      lines: {},
      dunning: {},
      revokeAdminSessions: async () => {},
      clientPages: {},
    } as unknown as HookDeps;
    expect(names(all)).to.deep.equal([
      'PreCronJob/10',
      'DailyCronJob/10',
      'AfterCronJob/10',
      'InvoiceCreation/10',
      'EmailPreSend/10',
      'PreModuleSuspend/10',
      'AddInvoiceLateFee/10',
      'AdminLogout/10',
      'ClientAreaHomepagePanels/10',
      'ClientAreaProductDetailsOutput/10',
    ]);
  });

  it('hands the client pages and the activity log it was given to the hooks that use them', async () => {
    const asked: unknown[] = [];
    const deps = {
      metering: {},
      settings: {},
      clock: {},
      zone: 'Europe/Brussels',
      log: logged().log,
      lines: {
        addToRenewalInvoice: async () => {
          throw new Error('lease held');
        },
      },
      logActivity: async (t: string) => void asked.push(t),
      clientPages: {
        homePanel: async (...a: unknown[]) => (asked.push(['home', ...a]), null),
        productDetails: async (...a: unknown[]) => (asked.push(['details', ...a]), '<div>612 GB</div>'),
        languageOf: async (id: number) => (asked.push(['language', id]), 'dutch'),
      },
    } as unknown as HookDeps;
    const hook = (name: string) => moduleHooks(deps).find((h) => h.name === name)!;
    await call(hook('InvoiceCreation'), { invoiceid: 41 });
    await call(hook('ClientAreaHomepagePanels'), {
      addChild: () => {},
      context: (k: string) => (k === 'client' ? { id: 12, language: 'english' } : { assets: '/a' }),
    });
    expect(
      await call(hook('ClientAreaProductDetailsOutput'), {
        service: { id: 7, userid: 12 },
        host: { downloads: 'relay' },
      }),
    ).to.equal('<div>612 GB</div>');
    expect(asked).to.deep.equal([
      'Overusage: could not add overusage lines to invoice 41: Error',
      ['home', 12, 'english', { assets: '/a' }],
      ['language', 12],
      ['details', 7, 12, 'dutch', { downloads: 'relay' }],
    ]);
  });
});
