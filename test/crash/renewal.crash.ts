import { expect } from 'chai';
import { ManualClock } from '../../module/adapters/clocks.js';
import { openDatabase } from '../../module/adapters/database.js';
import { silentLogger } from '../../module/adapters/logger.js';
import { toNum } from '../../module/adapters/rows.js';
import { createModule } from '../../module/index.js';
import { createPanel } from '../../panel/index.js';
import { buildBillingStory, closeMay } from '../support/billing-story.js';
import { killAtEveryStatement, templateOf, type Template } from '../support/crash-harness.js';
import { checkMysql, createTestDatabase, ENGINES, REQUIRE_MYSQL } from '../support/engines.js';
import { TEST_SECRET_KEY } from '../support/module-fixture.js';
import { registerModule } from '../support/register-module.js';

/**
 * The renewal run killed (SIGKILL) at every SQL statement of the InvoiceCreation window: the panel
 * has committed the renewal invoices and fires the hook; the process dies at statement K of the
 * deliveries. The recovery path is what an operator's machine does next: the same day's automation
 * run again (it takes over the day from the dead process, and its daily job reconciles).
 *
 * By hand: Ann's VPS (5 TB plan, €0.50 per GB over) used 6 TB in May: 1 000 GB × €0.50 = €500.00
 * on her renewal invoice of 2 June (hosting €19.95, total €519.95). Jan's VPS used 4 TB: nothing.
 * Whatever K, Ann's invoice ends with exactly one overusage line of €500.00 and Jan's with none.
 */
for (const engine of ENGINES) {
  describe(`crash at every statement of the InvoiceCreation window [${engine}]`, function () {
    this.timeout(900_000);
    let template: Template;
    let ids: { ann: number; jan: number };

    before(async function () {
      if (engine === 'mysql') {
        const reason = await checkMysql();
        if (reason) {
          if (REQUIRE_MYSQL) throw new Error(`MariaDB is required: ${reason}`);
          this.skip();
        }
      }
      const db = await createTestDatabase(engine);
      const s = await buildBillingStory(db.knex);
      await closeMay(s);
      ids = { ann: s.story.serviceId, jan: s.story.dutchServiceId };
      await s.mod.close();
      template = await templateOf(engine, db);
    });
    after(async () => {
      await template?.drop();
    });

    it('leaves exactly one €500.00 line on the unpaid renewal invoice, whatever statement the process died at', async () => {
      const outcomes: string[] = [];
      const report = await killAtEveryStatement(
        template,
        (url, killAt) => ({
          url,
          killAt,
          at: '2013-06-02T07:00:00Z',
          scenario: { kind: 'renewal', date: '2013-06-02' },
        }),
        async (url, k, sql) => {
          const db = openDatabase(url);
          try {
            const knex = db.knex;
            const clock = new ManualClock('2013-06-02T07:10:00Z');
            const panel = createPanel({ knex, clock, zone: 'Europe/Brussels', log: silentLogger });
            const mod = createModule({
              knex,
              clock,
              secretKey: TEST_SECRET_KEY,
              zone: 'Europe/Brussels',
              gatewayFor: () => {
                throw new Error('no SolusVM');
              },
              panel: panel.api,
              log: silentLogger,
              metering: { writer: 'inline' },
            });
            registerModule(panel, mod);
            await panel.addons.boot();
            const before = await knex('mod_overusage_lines').select('status');
            const rerun = await panel.runDailyAutomation('2013-06-02');
            expect(
              rerun.resumed,
              `statement ${k}: the rerun takes the day over from the dead process`,
            ).to.equal(true);
            const where = `killed at statement ${k} (${sql.slice(0, 80)})`;
            for (const [serviceId, expected] of [
              [ids.ann, ['500.00']],
              [ids.jan, []],
            ] as const) {
              const renewals = await knex('tblinvoiceitems')
                .where({ type: 'Hosting', relid: serviceId })
                .select('invoiceid');
              expect(renewals, `${where}: one renewal invoice for service ${serviceId}`).to.have.length(1);
              const inv = await panel.api.getInvoice(toNum(renewals[0]!.invoiceid));
              expect(inv.status).to.equal('Unpaid');
              const over = inv.items.filter((i) => i.description.startsWith('Bandwidth overusage'));
              expect(
                over.map((i) => i.amount),
                `${where}: overusage lines on the invoice of service ${serviceId}`,
              ).to.deep.equal(expected);
              if (expected.length) {
                expect(inv.total, where).to.equal('519.95');
                const lines = await knex('mod_overusage_lines').where({ service_id: serviceId });
                expect(
                  lines.map((l) => [l.status, toNum(l.invoice_id), toNum(l.invoice_item_id)]),
                  where,
                ).to.deep.equal([['placed', inv.invoiceId, over[0]!.id]]);
                expect(
                  (await knex('mod_overusage_charges').where({ id: lines[0].charge_id }).first()).status,
                  where,
                ).to.equal('billed');
              }
            }
            outcomes.push(`${k}:${before.map((b) => b.status).join('+') || 'none'}`);
            await mod.close();
          } finally {
            await db.close();
          }
        },
      );
      if (process.env.OVERUSAGE_CRASH_VERBOSE) console.log(report.statements, outcomes.join(' '));
      // every statement of the window was a kill point
      expect(outcomes).to.have.length(report.statements);
      expect(report.statements).to.be.greaterThan(20);
      // the kills fell before, during and after the pending line: each way of dying was recovered
      const states = new Set(outcomes.map((o) => o.split(':')[1]));
      expect([...states].sort()).to.include.members(['none', 'pending', 'placed']);
    });
  });
}
