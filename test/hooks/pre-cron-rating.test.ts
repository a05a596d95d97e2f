import { expect } from 'chai';
import type { Knex } from 'knex';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { logInto } from '../support/log-lines.js';
import {
  buildBillingStory,
  GB,
  runPanelDays,
  STORY_EUR,
  type BillingStory,
} from '../support/billing-story.js';

/**
 * The panel's daily automation fires PreCronJob, then generates the day's invoices (each through
 * InvoiceCreation), then DailyCronJob. The module rates what closed in PreCronJob, so a renewal's
 * delivery finds its charge rated and only places the line; the delivery's own rating stays the
 * fallback.
 *
 * The story: Ann's VPS on a 5 TB plan at €0.50 per GB over, renewing on 9 June 2013 for €19.95.
 * The panel invoices 8 days ahead here, so the 9 June renewal is generated on the morning of 1 June.
 * Her counter read 5 900 GB on the evening of 30 May and 6 000 GB at 23:50 on 31 May (21:50 UTC,
 * Brussels summer time), the sample that reads May's last day and closes the period at midnight.
 */
describeEachEngine(
  'PreCronJob: what closed is rated before the panel creates the day’s invoices',
  ({ db }) => {
    let knex: Knex;
    let s: BillingStory;
    let logged: Array<Record<string, unknown>>;
    const events = () => logged.map((l) => String(l.event));

    beforeEach(async () => {
      knex = db().knex;
      logged = [];
      s = await buildBillingStory(knex, STORY_EUR, { log: logInto(logged) });
      await s.f.setting('CreateInvoiceDaysBefore', '8');
    });

    async function sampleMay(last = true): Promise<void> {
      const days: Array<[string, bigint]> = [['2013-05-30T21:50:00Z', 5900n * GB]];
      if (last) days.push(['2013-05-31T21:50:00Z', 6000n * GB]);
      for (const [at, bytes] of days) {
        s.f.clock.set(at);
        s.fake.set('101', bytes);
        s.fake.set('102', 10n * GB);
        await s.mod.metering.collect();
      }
    }

    /** Ann's renewal of 9 June: its id, and its overusage items' amounts */
    async function renewal(): Promise<{ id: number; overusage: string[]; total: string }> {
      const row = await knex('tblinvoiceitems')
        .where({ type: 'Hosting', relid: s.story.serviceId })
        .orderBy('id', 'desc')
        .first('invoiceid');
      const inv = await s.f.panel.api.getInvoice(toNum(row.invoiceid));
      return {
        id: inv.invoiceId,
        overusage: inv.items
          .filter((i) => i.description.startsWith('Bandwidth overusage'))
          .map((i) => i.amount),
        total: inv.total,
      };
    }

    it('the morning after May closed: PreCronJob rates it, the renewal generated next carries €500.00, and its delivery rated nothing', async () => {
      await sampleMay();
      await runPanelDays(s, '2013-06-01', '2013-06-01');
      // by hand: May used 6 000 GB, 1 000 GB over the 5 000 GB allowance, × €0.50 = €500.00;
      // the invoice: €19.95 hosting + €500.00 = €519.95
      const inv = await renewal();
      expect(inv.overusage).to.deep.equal(['500.00']);
      expect(inv.total).to.equal('519.95');
      // one charge, rated in PreCronJob (the Dutch VPS at 10 GB is within its allowance: a charge too)
      const rated = logged.find((l) => l.event === 'hook.pre_cron.rated');
      expect(rated).to.deep.include({ date: '2013-05-31', periods: 2, pools: 0, poolsWait: false });
      // the delivery only placed the line: it rated nothing itself, and it came after PreCronJob
      expect(events()).not.to.include('lines.rated_on_delivery');
      expect(events().indexOf('hook.pre_cron.rated')).to.be.lessThan(events().indexOf('lines.added'));
      expect(logged.find((l) => l.event === 'lines.added')).to.deep.include({ invoiceId: inv.id, added: 1 });
    });

    it('PreCronJob’s rating failing: logged, and the delivery rates May itself and places the same €500.00 line', async () => {
      await sampleMay();
      // the whole run (PreCronJob's, DailyCronJob's) fails; a delivery's, for its own services, works
      const rating = s.mod.rating;
      const real = rating.rateClosedPeriods.bind(rating);
      rating.rateClosedPeriods = async (opts) => {
        if (!opts?.serviceIds) throw new Error('lost the database connection');
        return real(opts);
      };
      await runPanelDays(s, '2013-06-01', '2013-06-01');
      // by hand, as above: (6 000 − 5 000) GB × €0.50 = €500.00, + €19.95 = €519.95
      const inv = await renewal();
      expect(inv.overusage).to.deep.equal(['500.00']);
      expect(inv.total).to.equal('519.95');
      expect(logged.find((l) => l.event === 'hook.pre_cron.failed')).to.deep.include({
        level: 'error',
        date: '2013-05-31',
        error: 'Error',
      });
      // the delivery rated Ann's May (one period: only her service is on the invoice)
      expect(logged.find((l) => l.event === 'lines.rated_on_delivery')).to.deep.include({
        invoiceId: inv.id,
        via: 'hook',
        rated: 1,
      });
      expect(events().indexOf('hook.pre_cron.failed')).to.be.lessThan(events().indexOf('lines.added'));
    });

    it('May’s last day not sampled by the morning: nothing is rated early, the renewal goes without the line, DailyCronJob’s collect closes and rates May', async () => {
      await sampleMay(false);
      s.fake.set('101', 6000n * GB);
      s.fake.set('102', 10n * GB);
      await runPanelDays(s, '2013-06-01', '2013-06-01');
      expect(logged.find((l) => l.event === 'hook.pre_cron.rated')).to.deep.include({ periods: 0 });
      const inv = await renewal();
      expect(inv.overusage).to.deep.equal([]);
      expect(inv.total).to.equal('19.95');
      // the morning's collect read 31 May: May closed and was rated after the invoice, unbilled
      const charge = await knex('mod_overusage_charges as c')
        .join('mod_overusage_periods as p', 'p.id', 'c.period_id')
        .where({ 'p.service_id': s.story.serviceId, 'p.start_date': '2013-05-01' })
        .first('c.amount_minor', 'c.status');
      expect(charge).to.deep.include({ status: 'unbilled' });
      expect(BigInt(charge.amount_minor)).to.equal(50000n);
    });

    it('with nothing closed, PreCronJob reads two statements: the unrated periods and the pool spans', async () => {
      await sampleMay();
      await runPanelDays(s, '2013-06-01', '2013-06-01');
      const hook = s.mod.hooks().find((h) => h.name === 'PreCronJob')!;
      const statements: string[] = [];
      const count = (q: { sql: string }) => statements.push(q.sql);
      s.f.clock.set('2013-06-02T07:00:00Z');
      knex.on('query', count);
      try {
        await hook.handler({});
      } finally {
        knex.off('query', count);
      }
      expect(statements).to.have.length(2);
      expect(logged.at(-1)).to.deep.include({ event: 'hook.pre_cron.rated', periods: 0, pools: 0 });
    });
  },
);
