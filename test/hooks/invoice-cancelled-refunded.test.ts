import { expect } from 'chai';
import type { Knex } from 'knex';
import { toNum } from '../../module/adapters/rows.js';
import { createLogger, type Logger } from '../../module/adapters/logger.js';
import type { DisputeService } from '../../module/services/disputes.js';
import { InvoiceCancelled } from '../../hooks/InvoiceCancelled.js';
import { InvoiceRefunded } from '../../hooks/InvoiceRefunded.js';
import { moduleHooks, type HookDeps, type HookVars } from '../../hooks/index.js';
import { describeEachEngine } from '../support/engines.js';
import {
  buildBillingStory,
  closeMay,
  disputeLine,
  STORY_EUR,
  type BillingStory,
  type StoryMoney,
} from '../support/billing-story.js';

/**
 * InvoiceCancelled and InvoiceRefunded as WHMCS fires them ({ invoiceid }), through the panel's
 * hook runner. The voiding itself is tested in test/services/dispute-voided*.test.ts; here: that the
 * panel's hook reaches it, with what id, what it answers WHMCS, and what it does with bad input.
 */
function logged() {
  const lines: Array<Record<string, unknown>> = [];
  const log: Logger = createLogger({
    level: 'debug',
    write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>),
  });
  return { log, events: () => lines.map(({ at: _at, ...rest }) => rest) };
}

/**
 * The story (test/support/billing-story.ts): 1 000 GB over in May, billed on the renewal of 2 June
 * beside the VPS; Ann disputes on 5 June. By hand: 1 000 × €0.50 = €500.00, held on its own draft;
 * the renewal keeps €19.95; paid in full it is €500.00 + €19.95 = €519.95.
 * The panel marks the invoice (the status written as WHMCS writes it), then runs the hook, alone.
 */
describeEachEngine('InvoiceCancelled and InvoiceRefunded fired by the panel', ({ db }) => {
  let knex: Knex;

  async function disputed(money: StoryMoney, opts: { paid?: boolean; log?: Logger } = {}) {
    knex = db().knex;
    const s = await buildBillingStory(knex, money, opts.log ? { log: opts.log } : {});
    await closeMay(s);
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    const row = await knex('mod_overusage_lines').where({ service_id: s.story.serviceId }).first();
    const renewal = toNum(row.invoice_id);
    if (opts.paid)
      await s.f.panel.api.addInvoicePayment({
        invoiceId: renewal,
        transId: 'pay-all',
        gateway: 'banktransfer',
        date: '2013-06-03 10:00:00',
      });
    const d = await disputeLine(s, toNum(row.id));
    s.f.clock.set('2013-06-07T09:00:00Z');
    return { s, renewal, d };
  }
  /** the status written without the panel's hook, which the test then fires itself */
  const mark = (invoiceId: number, status: string) =>
    knex('tblinvoices').where({ id: invoiceId }).update({ status });
  const fire = async (s: BillingStory, name: string, vars: HookVars) => {
    const r = await s.f.panel.hooks.run(name, vars);
    // what WHMCS gets back: the module's handler ran and answered nothing (its answer is ignored)
    return r.handlers.map((h) => h.outcome);
  };
  const credit = async (s: BillingStory) =>
    String((await knex('tblclients').where({ id: s.story.clientId }).first('credit')).credit);
  const invoices = async (s: BillingStory) =>
    (
      await knex('tblinvoices')
        .where({ userid: s.story.clientId })
        .orderBy('id')
        .select('id', 'status', 'total')
    ).map((r) => [toNum(r.id), String(r.status), String(r.total)]);

  // the hook only hands an invoice id on; the amounts in JPY are test/services/dispute-voided.test.ts's
  for (const [money, sums] of [[STORY_EUR, { line: '500.00', hosting: '19.95', total: '519.95' }]] as const) {
    it(`${money.code}: InvoiceCancelled on the renewal voids the held dispute; its draft (${sums.line}) cancelled at 0.00, no credit`, async () => {
      const { s, renewal, d } = await disputed(money);
      expect([d.holdState, (await s.f.panel.api.getInvoice(d.heldInvoiceId!)).total]).to.deep.equal([
        'held',
        sums.line,
      ]);
      await mark(renewal, 'Cancelled');
      // nothing happens until the hook runs
      expect((await s.mod.disputes!.get(d.id)).state).to.equal('open');
      expect(await fire(s, 'InvoiceCancelled', { invoiceid: renewal })).to.deep.equal(['no_answer']);
      const after = await s.mod.disputes!.get(d.id);
      expect([after.state, after.voidedBy]).to.deep.equal([
        'voided',
        { invoiceId: renewal, status: 'Cancelled' },
      ]);
      expect(await invoices(s)).to.deep.equal([
        [renewal, 'Cancelled', sums.hosting],
        [d.heldInvoiceId, 'Cancelled', '0.00'],
      ]);
      expect(await credit(s)).to.equal('0.00');
    });

    it(`${money.code}: InvoiceRefunded on the paid renewal (${sums.total}) voids the dispute; nothing credited`, async () => {
      const { s, renewal, d } = await disputed(money, { paid: true });
      expect(d.holdState).to.equal('refund_decision');
      await mark(renewal, 'Refunded');
      expect((await s.mod.disputes!.get(d.id)).state).to.equal('open');
      expect(await fire(s, 'InvoiceRefunded', { invoiceid: String(renewal) })).to.deep.equal(['no_answer']);
      const after = await s.mod.disputes!.get(d.id);
      expect([after.state, after.voidedBy]).to.deep.equal([
        'voided',
        { invoiceId: renewal, status: 'Refunded' },
      ]);
      expect(await invoices(s)).to.deep.equal([[renewal, 'Refunded', sums.total]]);
      expect(await credit(s)).to.equal('0.00');
    });
  }

  it('an invoice with no disputed line, or one not cancelled at all, changes nothing', async () => {
    const { s, renewal, d } = await disputed(STORY_EUR);
    const before = await invoices(s);
    // the Dutch client's renewal, cancelled: no dispute is on it
    const other = await knex('tblinvoices').whereNot({ userid: s.story.clientId }).first('id');
    await mark(toNum(other.id), 'Cancelled');
    expect(await fire(s, 'InvoiceCancelled', { invoiceid: toNum(other.id) })).to.deep.equal(['no_answer']);
    // a replayed hook of Ann's renewal, still Unpaid: the status is read back, the dispute stays
    expect(await fire(s, 'InvoiceRefunded', { invoiceid: renewal })).to.deep.equal(['no_answer']);
    expect((await s.mod.disputes!.get(d.id)).state).to.equal('open');
    expect(await invoices(s)).to.deep.equal(before);
    expect(await knex('mod_overusage_audit').where({ action: 'dispute.voided' })).to.deep.equal([]);
  });

  it('a bad id, or the panel failing, is logged and never reaches WHMCS as a hook error', async () => {
    const { log, events } = logged();
    const { s, renewal, d } = await disputed(STORY_EUR, { log });
    await mark(renewal, 'Cancelled');
    const from = events().length;
    expect(await fire(s, 'InvoiceCancelled', { invoiceid: 'abc' })).to.deep.equal(['no_answer']);
    s.faulty.failNext = { method: 'getInvoice', when: 'before', times: 1 };
    expect(await fire(s, 'InvoiceCancelled', { invoiceid: renewal })).to.deep.equal(['no_answer']);
    expect(
      events()
        .slice(from)
        .filter((e) => String(e.event).startsWith('hook.')),
    ).to.deep.equal([
      { level: 'warn', event: 'hook.invoice_cancelled.bad_vars', invoiceid: 'abc' },
      {
        level: 'warn',
        event: 'hook.invoice_cancelled.failed',
        invoiceId: renewal,
        error: 'Error',
      },
    ]);
    // still open: the sweep (test/services/dispute-voided-sweep.test.ts) reads the status later
    expect((await s.mod.disputes!.get(d.id)).state).to.equal('open');
  });
});

/**
 * Each hook on its own, with a stand-in dispute service that records the ids it is asked about:
 * which invoice ids WHMCS may send reach it, and what an operator reads in the log.
 */
for (const [hookOf, name, event] of [
  [InvoiceCancelled, 'InvoiceCancelled', 'hook.invoice_cancelled'],
  [InvoiceRefunded, 'InvoiceRefunded', 'hook.invoice_refunded'],
] as const) {
  describe(`${name} with what the panel hands it`, () => {
    function fixture(fails?: string, pages?: { fails?: string }) {
      const asked: unknown[] = [];
      const { log, events } = logged();
      const disputes = {
        async invoiceClosed(invoiceId: number) {
          asked.push(invoiceId);
          if (fails) throw new Error(fails);
          return 1;
        },
      };
      // the client's pages built afresh: recorded in the same list, after the disputes it closed
      const pagesChanged = async (invoiceId: number) => {
        asked.push(`pages ${invoiceId}`);
        if (pages?.fails) throw new Error(pages.fails);
      };
      const hook = hookOf({ disputes, log, ...(pages ? { pagesChanged } : {}) });
      return {
        hook,
        asked,
        events,
        run: (vars: unknown) => hook.handler(vars as HookVars) as Promise<unknown>,
      };
    }

    it('is registered under its WHMCS name at priority 10', () => {
      expect([fixture().hook.name, fixture().hook.priority]).to.deep.equal([name, 10]);
    });

    it('closes the disputes of invoice 41 (given as a number or as the string the panel sends) and answers nothing', async () => {
      const f = fixture();
      expect(await f.run({ invoiceid: 41 })).to.equal(undefined);
      expect(await f.run({ invoiceid: '41' })).to.equal(undefined);
      // 1 is the smallest id there is
      expect(await f.run({ invoiceid: 1 })).to.equal(undefined);
      expect(f.asked).to.deep.equal([41, 41, 1]);
      expect(f.events()).to.deep.equal([]);
    });

    it('asks nothing for a missing, zero, negative, fractional, non-numeric or unsafe id, and logs what it was given', async () => {
      const f = fixture();
      // 2^53 = 9007199254740992 is past Number.MAX_SAFE_INTEGER (2^53 − 1)
      for (const invoiceid of [undefined, 0, '-41', 41.5, 'abc', 2 ** 53])
        expect(await f.run({ invoiceid })).to.equal(undefined);
      expect(f.asked).to.deep.equal([]);
      expect(f.events()).to.deep.equal(
        ['undefined', '0', '-41', '41.5', 'abc', '9007199254740992'].map((invoiceid) => ({
          level: 'warn',
          event: `${event}.bad_vars`,
          invoiceid,
        })),
      );
    });

    it('lets WHMCS go on when closing fails, with a warning naming the invoice and the error', async () => {
      const f = fixture('lease held by another process');
      expect(await f.run({ invoiceid: 41 })).to.equal(undefined);
      expect(f.asked).to.deep.equal([41]);
      expect(f.events()).to.deep.equal([
        { level: 'warn', event: `${event}.failed`, invoiceId: 41, error: 'Error' },
      ]);
    });

    it("has the client's pages of invoice 41 built afresh after its disputes close, even when closing failed", async () => {
      const f = fixture(undefined, {});
      expect(await f.run({ invoiceid: 41 })).to.equal(undefined);
      const g = fixture('lease held by another process', {});
      expect(await g.run({ invoiceid: '41' })).to.equal(undefined);
      expect([f.asked, g.asked]).to.deep.equal([
        [41, 'pages 41'],
        [41, 'pages 41'],
      ]);
      expect(f.events()).to.deep.equal([]);
    });

    it('lets WHMCS go on when building the pages fails, with a warning naming the invoice and the error', async () => {
      const f = fixture(undefined, { fails: 'GetInvoice: panel unreachable' });
      expect(await f.run({ invoiceid: 41 })).to.equal(undefined);
      expect(f.asked).to.deep.equal([41, 'pages 41']);
      expect(f.events()).to.deep.equal([
        {
          level: 'warn',
          event: `${event}.pages_failed`,
          invoiceId: 41,
          error: 'Error',
        },
      ]);
    });
  });
}

describe('the voiding hooks in the module’s hook list', () => {
  const base = (log: Logger) =>
    ({ metering: {}, settings: {}, clock: {}, zone: 'Europe/Brussels', log }) as unknown as HookDeps;

  it('are registered only with a dispute service, and hand it and the log to both', async () => {
    const { log, events } = logged();
    const names = (deps: HookDeps) => moduleHooks(deps).map((h) => `${h.name}/${h.priority}`);
    expect(names(base(log))).to.deep.equal(['DailyCronJob/10', 'AfterCronJob/10']);
    const asked: number[] = [];
    const disputes = {
      async invoiceClosed(id: number) {
        asked.push(id);
        if (id === 13) throw new Error('panel unreachable');
        return 0;
      },
    } as unknown as DisputeService;
    const deps = { ...base(log), disputes };
    expect(names(deps)).to.deep.equal([
      'DailyCronJob/10',
      'AfterCronJob/10',
      'InvoiceCancelled/10',
      'InvoiceRefunded/10',
    ]);
    const hook = (name: string) => moduleHooks(deps).find((h) => h.name === name)!;
    await hook('InvoiceCancelled').handler({ invoiceid: 12 });
    await hook('InvoiceRefunded').handler({ invoiceid: 13 });
    expect(asked).to.deep.equal([12, 13]);
    // the log handed in is the one written to
    expect(events()).to.deep.equal([
      { level: 'warn', event: 'hook.invoice_refunded.failed', invoiceId: 13, error: 'Error' },
    ]);
  });

  it("have the client's pages built afresh through clientPages.invoiceClosed when the module has one", async () => {
    const { log, events } = logged();
    const asked: string[] = [];
    const disputes = {
      async invoiceClosed(id: number) {
        asked.push(`disputes ${id}`);
        return 0;
      },
    } as unknown as DisputeService;
    // the pages themselves are not asked for here
    const clientPages = {
      homePanel: async () => null,
      productDetails: async () => '',
      languageOf: async () => 'english',
    };
    const withPages = {
      ...base(log),
      disputes,
      clientPages: {
        ...clientPages,
        async invoiceClosed(id: number) {
          asked.push(`pages ${id}`);
        },
      },
    } as HookDeps;
    const hook = (deps: HookDeps, name: string) => moduleHooks(deps).find((h) => h.name === name)!;
    await hook(withPages, 'InvoiceCancelled').handler({ invoiceid: 12 });
    await hook(withPages, 'InvoiceRefunded').handler({ invoiceid: 13 });
    // a module whose pages have no invoiceClosed only closes the disputes
    const without = { ...base(log), disputes, clientPages } as HookDeps;
    await hook(without, 'InvoiceCancelled').handler({ invoiceid: 14 });
    expect(asked).to.deep.equal(['disputes 12', 'pages 12', 'disputes 13', 'pages 13', 'disputes 14']);
    // and nothing failed on the way (no pages_failed for the module without invoiceClosed)
    expect(events()).to.deep.equal([]);
  });
});
