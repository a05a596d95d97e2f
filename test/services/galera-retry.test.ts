import { expect } from 'chai';
import type { Knex } from 'knex';
import { silentLogger } from '../../module/adapters/logger.js';
import { toNum } from '../../module/adapters/rows.js';
import { createModule } from '../../module/index.js';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, closeMay } from '../support/billing-story.js';
import { CLI_ACTOR, CLIENT_ACTOR as CLIENT, TEST_SECRET_KEY } from '../support/module-fixture.js';

/**
 * A Galera commit that loses certification: every statement of the transaction ran, then the
 * commit answers 1213 and the transaction is rolled back. This wrapper lets the next `failures`
 * top-level transactions run their work and then fail that way (the rollback is the real one).
 */
function certificationFailures(knex: Knex): { db: Knex; arm: (n: number) => void; thrown: () => number } {
  let left = 0;
  let thrown = 0;
  const transaction = (work: (trx: Knex.Transaction) => Promise<unknown>) =>
    knex.transaction(async (trx) => {
      const out = await work(trx);
      if (left > 0) {
        left--;
        thrown++;
        throw Object.assign(new Error('Deadlock found when trying to get lock; try restarting transaction'), {
          errno: 1213,
          code: 'ER_LOCK_DEADLOCK',
          sqlState: '40001',
        });
      }
      return out;
    });
  const db = new Proxy(knex, {
    get: (target, prop, receiver) =>
      prop === 'transaction' ? transaction : Reflect.get(target, prop, receiver),
  });
  return { db, arm: (n) => (left = n), thrown: () => thrown };
}

describeEachEngine(
  'database-only transactions retried after a 1213 at commit (Galera certification)',
  ({ db }) => {
    it('a service override whose first commit fails is written once, with one audit row', async () => {
      const s = await buildBillingStory(db().knex);
      const flaky = certificationFailures(db().knex);
      const mod = createModule({
        knex: flaky.db,
        clock: s.f.clock,
        secretKey: TEST_SECRET_KEY,
        zone: 'Europe/Brussels',
        gatewayFor: () => s.fake.gateway(),
        panel: s.faulty.api(),
        log: silentLogger,
        metering: { writer: 'inline' },
      });
      flaky.arm(1);
      await mod.billing.setServiceOverride(s.story.serviceId, { allowance: '8 TB' }, CLI_ACTOR);
      expect(flaky.thrown()).to.equal(1); // the failure did happen: one rolled-back attempt, then one commit
      const audits = await db()
        .knex('mod_overusage_audit')
        .where({ action: 'billing.service_override_set' })
        .select('entity_id');
      expect(audits.map((a) => toNum(a.entity_id))).to.deep.equal([s.story.serviceId]);
      // 8 TB = 8 000 000 000 000 bytes, the allowance the override sets
      const eff = await mod.billing.forService(s.story.productId, s.story.serviceId, s.story.clientId);
      expect(eff!.allowance).to.equal('8000000000000');
    });

    it('a dispute whose opening commit fails twice is opened once: one dispute, one audit row, one line disputed', async () => {
      const knex = db().knex;
      const s = await buildBillingStory(knex);
      await closeMay(s);
      s.f.clock.set('2013-06-02T07:00:00Z');
      await s.f.panel.runDailyAutomation('2013-06-02');
      const lineId = toNum((await knex('mod_overusage_lines').first('id')).id);
      const flaky = certificationFailures(knex);
      const mod = createModule({
        knex: flaky.db,
        clock: s.f.clock,
        secretKey: TEST_SECRET_KEY,
        zone: 'Europe/Brussels',
        gatewayFor: () => s.fake.gateway(),
        panel: s.faulty.api(),
        log: silentLogger,
        metering: { writer: 'inline' },
      });
      s.f.clock.set('2013-06-05T10:00:00Z');
      // the opening is the first transaction of open(): its first two commits lose certification
      flaky.arm(2);
      const opened = await mod.disputes!.open({
        lineId,
        reason: 'I cannot tell where this traffic came from.',
        actor: CLIENT(s.story.clientId),
      });
      expect(flaky.thrown()).to.equal(2);
      expect(opened).to.have.property('ok', true);
      expect(await knex('mod_overusage_disputes').where({ line_id: lineId })).to.have.length(1);
      expect(await knex('mod_overusage_audit').where({ action: 'dispute.opened' })).to.have.length(1);
      // the €500.00 line (1 TB over at €0.50 per GB) is the one disputed, once
      const line = await knex('mod_overusage_lines').where({ id: lineId }).first('amount_minor');
      expect(String(line.amount_minor)).to.equal('50000');
    });

    it('gives up after five failed commits and writes nothing', async () => {
      const s = await buildBillingStory(db().knex);
      const flaky = certificationFailures(db().knex);
      const mod = createModule({
        knex: flaky.db,
        clock: s.f.clock,
        secretKey: TEST_SECRET_KEY,
        zone: 'Europe/Brussels',
        gatewayFor: () => s.fake.gateway(),
        panel: s.faulty.api(),
        log: silentLogger,
        metering: { writer: 'inline' },
      });
      const before = toNum((await db().knex('mod_overusage_audit').count({ n: '*' }).first())!.n);
      flaky.arm(5);
      let err: { errno?: number } | null = null;
      await mod.billing
        .setServiceOverride(s.story.serviceId, { allowance: '8 TB' }, CLI_ACTOR)
        .catch((e) => (err = e));
      expect(err).to.have.property('errno', 1213);
      expect(flaky.thrown()).to.equal(5);
      expect(toNum((await db().knex('mod_overusage_audit').count({ n: '*' }).first())!.n)).to.equal(before);
    });
  },
);
