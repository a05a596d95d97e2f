import { expect } from 'chai';
import type { Knex } from 'knex';
import { ManualClock } from '../../module/adapters/clocks.js';
import { openDatabase } from '../../module/adapters/database.js';
import { silentLogger } from '../../module/adapters/logger.js';
import { toNum } from '../../module/adapters/rows.js';
import { createModule } from '../../module/index.js';
import { messageRef } from '../../module/services/outbox.js';
import { createPanel } from '../../panel/index.js';
import { buildBillingStory, closeMay, type BillingStory } from '../support/billing-story.js';
import { killAtEveryStatement, templateOf, type Template } from '../support/crash-harness.js';
import { checkMysql, createTestDatabase, ENGINES, REQUIRE_MYSQL } from '../support/engines.js';
import { TEST_SECRET_KEY } from '../support/module-fixture.js';
import type { CrashOrders } from '../support/crash-child.js';
import { registerModule } from '../support/register-module.js';

/**
 * A dispute's opening and resolution killed (SIGKILL) at every SQL statement, emails included; the
 * recovery path is the panel's next 5-minute tick (AfterCronJob: interrupted holds and resolutions
 * are finished, the outbox is sent). Ann disputes the €500.00 line of her 2 June renewal.
 *
 * What must hold whatever statement the process died at:
 *  - the dispute is there or not at all; when there, its line is held on a draft invoice of its
 *    own (€500.00) and off the renewal (back to €19.95), or, resolved, carried out to the end;
 *  - each email goes out exactly once: the client's (the panel's email log is asked before a
 *    resend), and the admin's too, except when the process died between the panel's sending it and
 *    the outbox's marking it sent: then it goes twice, with the same reference (the panel keeps no
 *    admin mail log an API can read);
 *  - money moves once: a waived line that was paid already is credited €500.00, once.
 */
const MARK_SENT = /^update [`"]?mod_overusage_outbox[`"]? set [`"]?status[`"]? = \?, [`"]?outcome[`"]?/i;

async function recover(
  url: string,
  at: string,
  check: (ctx: { knex: Knex; panel: ReturnType<typeof createPanel> }) => Promise<void>,
): Promise<void> {
  const db = openDatabase(url);
  try {
    const clock = new ManualClock(at);
    const panel = createPanel({ knex: db.knex, clock, zone: 'Europe/Brussels', log: silentLogger });
    const mod = createModule({
      knex: db.knex,
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
    // the next tick: what the dead process left is finished, the outbox sent
    await mod.everyTick();
    await check({ knex: db.knex, panel });
    await mod.close();
  } finally {
    await db.close();
  }
}

/** The emails carrying this reference: the client's (their log) or the admin's (userid 0). */
async function sentWith(knex: Knex, ref: string): Promise<number> {
  const rows = await knex('tblemails').where('message', 'like', `%${ref}%`).select('id');
  return rows.length;
}

for (const engine of ENGINES) {
  describe(`crash at every statement of a dispute, emails included [${engine}]`, function () {
    this.timeout(900_000);
    let s: BillingStory;
    let lineId: number;
    let renewal: number;

    async function story(): Promise<{ db: Awaited<ReturnType<typeof createTestDatabase>> }> {
      const db = await createTestDatabase(engine);
      s = await buildBillingStory(db.knex);
      await closeMay(s);
      s.f.clock.set('2013-06-02T07:00:00Z');
      await s.f.panel.runDailyAutomation('2013-06-02');
      const line = await db.knex('mod_overusage_lines').first();
      lineId = toNum(line.id);
      renewal = toNum(line.invoice_id);
      return { db };
    }

    before(async function () {
      if (engine === 'mysql') {
        const reason = await checkMysql();
        if (reason) {
          if (REQUIRE_MYSQL) throw new Error(`MariaDB is required: ${reason}`);
          this.skip();
        }
      }
    });

    /** Kills the window at every statement; `adminMarkAt`: the statement that marks the admin email sent. */
    async function sweep(
      template: Template,
      orders: (url: string, k: number) => CrashOrders,
      check: (url: string, k: number, adminMarkAt: number) => Promise<void>,
    ): Promise<number> {
      let adminMarkAt = -1;
      const report = await killAtEveryStatement(
        template,
        orders,
        async (url, k) => check(url, k, adminMarkAt),
        {
          // the whole window's statements are known before the first kill
          onMeasured: (sql) => {
            const marks = sql.map((q, i) => (MARK_SENT.test(q) ? i + 1 : 0)).filter(Boolean);
            expect(marks, 'the client email and the admin email are each marked sent').to.have.length(2);
            adminMarkAt = marks[1]!;
          },
        },
      );
      return report.statements;
    }

    it('opening: the dispute is held or absent, and each email goes out once', async () => {
      const { db } = await story();
      await s.mod.close();
      const clientId = s.story.clientId;
      const template = await templateOf(engine, db);
      try {
        const seen = new Set<string>();
        const n = await sweep(
          template,
          (url, killAt) => ({
            url,
            killAt,
            at: '2013-06-05T10:00:00Z',
            scenario: { kind: 'dispute-open', lineId, clientId },
          }),
          (url, k, adminMarkAt) =>
            recover(url, '2013-06-05T10:05:00Z', async ({ knex, panel }) => {
              const where = `killed at statement ${k}`;
              const d = await knex('mod_overusage_disputes').first();
              const line = await knex('mod_overusage_lines').where({ id: lineId }).first();
              const over = (await panel.api.getInvoice(renewal)).items.filter((i) =>
                i.description.includes(`[${line.ref_code}]`),
              );
              if (!d) {
                seen.add('absent');
                expect(line.status, where).to.equal('placed');
                expect(over, where).to.have.length(1);
                expect(await knex('tblemails').where('subject', 'like', '%dispute%')).to.have.length(0);
                return;
              }
              seen.add('held');
              const id = toNum(d.id);
              expect([d.state, d.hold_state, line.status], where).to.deep.equal(['open', 'held', 'held']);
              expect(over, `${where}: off the renewal`).to.have.length(0);
              const renewed = await panel.api.getInvoice(renewal);
              expect(renewed.total, where).to.equal('19.95');
              const held = await panel.api.getInvoice(toNum(d.held_invoice_id));
              expect([held.status, held.total, held.items.length], where).to.deep.equal([
                'Draft',
                '500.00',
                1,
              ]);
              const drafts = await knex('tblinvoices').where({ userid: clientId, status: 'Draft' });
              expect(drafts, `${where}: one held draft`).to.have.length(1);
              expect(
                await sentWith(knex, messageRef(`dispute:${id}:opened:client`)),
                `${where}: the client's email`,
              ).to.equal(1);
              expect(
                await sentWith(knex, messageRef(`dispute:${id}:opened:admin`)),
                `${where}: the admin's email`,
              ).to.equal(k === adminMarkAt ? 2 : 1);
            }),
        );
        expect(n).to.be.greaterThan(15);
        expect([...seen].sort()).to.deep.equal(['absent', 'held']);
      } finally {
        await template.drop();
      }
    });

    it('upholding: the held line is published once, and each email goes out once', async () => {
      const { db } = await story();
      s.f.clock.set('2013-06-05T10:00:00Z');
      const opened = await s.mod.disputes!.open({
        lineId,
        reason: 'too much',
        actor: { type: 'client', id: String(s.story.clientId) },
      });
      if (!opened.ok) throw new Error(opened.message);
      const disputeId = opened.value.id;
      const heldId = opened.value.heldInvoiceId!;
      await s.mod.close();
      const template = await templateOf(engine, db);
      try {
        const seen = new Set<string>();
        await sweep(
          template,
          (url, killAt) => ({
            url,
            killAt,
            at: '2013-06-06T10:00:00Z',
            scenario: { kind: 'dispute-resolve', disputeId, to: 'upheld' },
          }),
          (url, k, adminMarkAt) =>
            recover(url, '2013-06-06T10:05:00Z', async ({ knex, panel }) => {
              const where = `killed at statement ${k}`;
              const d = await knex('mod_overusage_disputes').where({ id: disputeId }).first();
              const held = await panel.api.getInvoice(heldId);
              if (d.state === 'open') {
                // the decision was never recorded: nothing happened, nothing was said
                seen.add('open');
                expect(d.resolving_to, where).to.equal(null);
                expect(held.status, where).to.equal('Draft');
                expect(
                  await sentWith(knex, messageRef(`dispute:${disputeId}:upheld:client`)),
                  where,
                ).to.equal(0);
                return;
              }
              seen.add('upheld');
              expect([d.state, d.resolving_to, d.hold_state], where).to.deep.equal([
                'upheld',
                null,
                'published',
              ]);
              // published once, due 14 days after the decision (6 + 14 = 20 June), for €500.00
              expect([held.status, held.total, held.dueDate], where).to.deep.equal([
                'Unpaid',
                '500.00',
                '2013-06-20',
              ]);
              expect(
                await sentWith(knex, messageRef(`dispute:${disputeId}:upheld:client`)),
                `${where}: the client's email`,
              ).to.equal(1);
              expect(
                await sentWith(knex, messageRef(`dispute:${disputeId}:upheld:admin`)),
                `${where}: the admin's email`,
              ).to.equal(k === adminMarkAt ? 2 : 1);
            }),
        );
        expect([...seen].sort()).to.deep.equal(['open', 'upheld']);
      } finally {
        await template.drop();
      }
    });

    it('waiving a line paid already: the €500.00 credit is given once, and each email goes out once', async () => {
      const { db } = await story();
      // Ann paid the whole renewal (€519.95) before disputing: the line goes to a refund-or-credit decision
      await s.f.panel.api.addInvoicePayment({
        invoiceId: renewal,
        transId: 'paid-all',
        gateway: 'banktransfer',
        date: '2013-06-03 10:00:00',
      });
      s.f.clock.set('2013-06-05T10:00:00Z');
      const opened = await s.mod.disputes!.open({
        lineId,
        reason: 'too much',
        actor: { type: 'client', id: String(s.story.clientId) },
      });
      if (!opened.ok) throw new Error(opened.message);
      expect(opened.value.holdState).to.equal('refund_decision');
      const disputeId = opened.value.id;
      await s.mod.close();
      const template = await templateOf(engine, db);
      try {
        const seen = new Set<string>();
        await sweep(
          template,
          (url, killAt) => ({
            url,
            killAt,
            at: '2013-06-06T10:00:00Z',
            scenario: { kind: 'dispute-resolve', disputeId, to: 'waived' },
          }),
          (url, k, adminMarkAt) =>
            recover(url, '2013-06-06T10:05:00Z', async ({ knex }) => {
              const where = `killed at statement ${k}`;
              const d = await knex('mod_overusage_disputes').where({ id: disputeId }).first();
              // every credit of the client, whatever its description or language: only the waiver gives one
              const credits = await knex('tblcredit').where({ clientid: s.story.clientId });
              if (d.state === 'open') {
                seen.add('open');
                expect(credits, where).to.have.length(0);
                return;
              }
              seen.add('waived');
              expect([d.state, d.settlement], where).to.deep.equal(['waived', 'credited']);
              expect(
                credits.map((c) => String(c.amount)),
                `${where}: credited once`,
              ).to.deep.equal(['500.00']);
              expect(
                await sentWith(knex, messageRef(`dispute:${disputeId}:waived:client`)),
                `${where}: the client's email`,
              ).to.equal(1);
              expect(
                await sentWith(knex, messageRef(`dispute:${disputeId}:waived:admin`)),
                `${where}: the admin's email`,
              ).to.equal(k === adminMarkAt ? 2 : 1);
            }),
        );
        expect([...seen].sort()).to.deep.equal(['open', 'waived']);
      } finally {
        await template.drop();
      }
    });
  });
}
