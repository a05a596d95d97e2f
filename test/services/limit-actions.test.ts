import { expect } from 'chai';
import type { Knex } from 'knex';
import { SolusVmError } from '../../module/adapters/solusvm-types.js';
import { toNum } from '../../module/adapters/rows.js';
import { PANEL_SUSPEND_REASON } from '../../module/services/limit-actions.js';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, GB, STORY_EUR, type BillingStory } from '../support/billing-story.js';
import { logInto } from '../support/log-lines.js';
import { spoilDate } from '../support/spoil.js';
import { engineOf } from '../../module/adapters/database.js';
import { ADMIN_ACTOR as ADMIN, CLI_ACTOR } from '../support/module-fixture.js';

/**
 * The policy at the limit and the notices against the reference panel with a SolusVM stand-in
 * whose every action is recorded: an admin's lift, the panel's own suspensions left alone, a
 * policy changed mid-period, and notices whose second email failed.
 */
describeEachEngine('limit actions and notices with a recording SolusVM', ({ db }) => {
  let knex: Knex;
  let s: BillingStory;

  beforeEach(async () => {
    knex = db().knex;
    s = await buildBillingStory(knex);
  });

  /** one evening: the counter of VPS 101 (the English client's) and 102, then metering and the usage watch */
  async function evening(date: string, used101: bigint, used102 = 1n * GB): Promise<void> {
    s.f.clock.set(`${date}T21:50:00Z`);
    s.fake.set('101', used101);
    s.fake.set('102', used102);
    await s.mod.metering.collect();
    await s.mod.watchUsage({ collected: true });
  }
  const tick = async (at: string) => {
    s.f.clock.set(at);
    await s.mod.watchUsage({ collected: false });
  };
  const panel = async () => {
    const r = await knex('tblhosting')
      .where({ id: s.story.serviceId })
      .first('domainstatus', 'suspendreason');
    return { status: String(r.domainstatus), reason: String(r.suspendreason ?? '') };
  };
  const rows = () =>
    knex('mod_overusage_limit_actions').where({ service_id: s.story.serviceId }).orderBy('id');

  it('lets an admin lift a suspension, audited under the admin, and does not take it again that period', async () => {
    await s.mod.billing.setServiceOverride(
      s.story.serviceId,
      { limitPolicy: { action: 'suspend' } },
      CLI_ACTOR,
    );
    await evening('2013-05-20', 5000n * GB);
    expect(s.fake.actions).to.deep.equal(['suspend 101']);
    expect(await panel()).to.deep.equal({ status: 'Suspended', reason: PANEL_SUSPEND_REASON });
    const [row] = await rows();
    const lifted = await s.mod.limits.lift(toNum(row.id), ADMIN, 'goodwill: the client bought more traffic');
    expect(lifted).to.deep.include({
      status: 'lifted',
      liftReason: 'admin',
      liftedBy: 'admin:1',
      panelState: 'restored',
    });
    expect(s.fake.actions).to.deep.equal(['suspend 101', 'unsuspend 101']);
    expect(await panel()).to.deep.equal({ status: 'Active', reason: '' });
    const audit = await knex('mod_overusage_audit')
      .where({ entity_type: 'limit_action', entity_id: String(row.id) })
      .orderBy('id')
      .select('action', 'actor_type', 'actor_id');
    expect(audit.map((a) => a.action)).to.deep.equal([
      'limit.decided',
      'limit.applied',
      'limit.panel_synced',
      'limit.lift_requested',
      'limit.lifted',
      'limit.panel_synced',
    ]);
    expect(audit.find((a) => a.action === 'limit.lift_requested')).to.deep.include({
      actor_type: 'admin',
      actor_id: '1',
    });
    // still over the allowance on the next evenings: the admin's decision holds for the period
    await evening('2013-05-21', 5200n * GB);
    await evening('2013-05-22', 5400n * GB);
    expect(s.fake.actions).to.deep.equal(['suspend 101', 'unsuspend 101']);
    expect(await rows()).to.have.length(1);
    // lifting twice is refused with a clear error, not repeated
    try {
      await s.mod.limits.lift(toNum(row.id), ADMIN);
      expect.fail('lifted twice');
    } catch (err) {
      expect((err as { code?: string }).code).to.equal('CONFLICT');
    }
  });

  it('goes on for the others when one action row cannot be read: that service is left as it stands, named in the log', async () => {
    const lines: Array<Record<string, unknown>> = [];
    s = await buildBillingStory(knex, STORY_EUR, { log: logInto(lines) });
    for (const id of [s.story.serviceId, s.story.dutchServiceId])
      await s.mod.billing.setServiceOverride(id, { limitPolicy: { action: 'suspend' } }, CLI_ACTOR);
    // both at 5 000 GB of their 5 TB (5 000 GB): both suspended
    await evening('2013-05-20', 5000n * GB, 5000n * GB);
    expect([...s.fake.actions].sort()).to.deep.equal(['suspend 101', 'suspend 102']);
    // VPS 102's row edited by hand into an action the module does not know
    const bad = await knex('mod_overusage_limit_actions')
      .where({ service_id: s.story.dutchServiceId })
      .first('id');
    await knex('mod_overusage_limit_actions').where({ id: bad.id }).update({ action: 'explode' });
    // still over the next evening: nothing new for either (102 undecided, not suspended twice)
    await evening('2013-05-21', 5100n * GB, 5100n * GB);
    expect(s.fake.actions).to.have.length(2);
    // June: 10 GB in the new period, so 101's suspension is lifted; 102's row waits to be mended
    await evening('2013-06-01', 10n * GB, 10n * GB);
    expect(s.fake.actions.slice(2)).to.deep.equal(['unsuspend 101']);
    expect(await panel()).to.deep.equal({ status: 'Active', reason: '' });
    const told = lines.filter((l) => l.msg === 'limit.row_unreadable' || l.event === 'limit.row_unreadable');
    expect(told.length).to.be.at.least(1);
    expect(told[0]).to.deep.include({
      table: 'mod_overusage_limit_actions',
      id: toNum(bad.id),
      column: 'mod_overusage_limit_actions.action',
    });
    expect(JSON.stringify(told)).not.to.include('explode');
  });

  /**
   * Both clients may cap their bill and suspend at the cap; each sets €25.00: at €0.50 a GB over
   * the 5 000 GB allowance that is 25.00 / 0.50 = 50 GB over, so the policy acts at 5 050 GB.
   * 20 May, 5 100 GB each (over 5 050): VPS 101 and 102 suspended. Jan's cap row is then edited by
   * hand (its kind a word the module does not write). 1 June, 10 GB each in the new period: 101's
   * suspension is lifted; 102's waits, its cap not known. 20 June, 5 100 GB each: 101 suspended
   * again, nothing new for 102. Before: reading the caps threw on Jan's row, and the whole run with
   * it (no lift, no suspension for anyone).
   */
  it("goes on for the others when one client's cap cannot be read: that service is left as it stands, the column logged", async () => {
    const lines: Array<Record<string, unknown>> = [];
    s = await buildBillingStory(knex, STORY_EUR, { log: logInto(lines) });
    const product = (await s.mod.billing.getProduct(s.story.productId))!;
    await s.mod.billing.setProduct(
      s.story.productId,
      { ...product, clientCaps: { actions: ['suspend'] } },
      CLI_ACTOR,
    );
    for (const [clientId, serviceId] of [
      [s.story.clientId, s.story.serviceId],
      [s.story.dutchClientId, s.story.dutchServiceId],
    ] as const)
      await s.mod.caps.set(
        clientId,
        serviceId,
        { kind: 'money', amount: '25.00', action: 'suspend' },
        { type: 'client', id: String(clientId) },
      );
    await evening('2013-05-20', 5100n * GB, 5100n * GB);
    expect([...s.fake.actions].sort()).to.deep.equal(['suspend 101', 'suspend 102']);
    const jans = await knex('mod_overusage_caps').where({ service_id: s.story.dutchServiceId }).first('id');
    await knex('mod_overusage_caps').where({ id: jans.id }).update({ kind: 'quark' });
    await evening('2013-06-01', 10n * GB, 10n * GB);
    expect(s.fake.actions.slice(2)).to.deep.equal(['unsuspend 101']);
    await evening('2013-06-20', 5100n * GB, 5100n * GB);
    expect(s.fake.actions.slice(3)).to.deep.equal(['suspend 101']);
    const told = lines.filter((l) => l.event === 'limit.row_unreadable');
    expect(told.length).to.be.at.least(1);
    for (const l of told)
      expect(l).to.deep.include({
        level: 'warn',
        table: 'mod_overusage_caps',
        id: toNum(jans.id),
        column: 'mod_overusage_caps.kind',
      });
    expect(JSON.stringify(lines)).not.to.include('quark');
  });

  /**
   * Both VPSs held to "suspend at the allowance" (5 000 GB). 20 May: each counter read at 5 000 GB,
   * and VPS 102's cached open period (its start date in the services row) then spoiled by hand
   * before the watch runs. Before: reading the open periods threw on that row, and no service was
   * decided (101 not suspended either). Now 101 is suspended (5 000 of 5 000 GB), 102 is left as it
   * stands (its use not known), and the row is logged with its table, id and column.
   */
  it("decides for the others when one service's open period cannot be read: that one is left, the column logged", async () => {
    const lines: Array<Record<string, unknown>> = [];
    s = await buildBillingStory(knex, STORY_EUR, { log: logInto(lines) });
    for (const id of [s.story.serviceId, s.story.dutchServiceId])
      await s.mod.billing.setServiceOverride(id, { limitPolicy: { action: 'suspend' } }, CLI_ACTOR);
    s.f.clock.set('2013-05-20T21:50:00Z');
    s.fake.set('101', 5000n * GB);
    s.fake.set('102', 5000n * GB);
    await s.mod.metering.collect();
    const bad = await spoilDate(knex, engineOf(knex), 'mod_overusage_services', 'open_period_start', {
      service_id: s.story.dutchServiceId,
    });
    await s.mod.watchUsage({ collected: true });
    expect(s.fake.actions).to.deep.equal(['suspend 101']);
    const told = lines.filter((l) => l.event === 'usage.row_unreadable');
    expect(told.length).to.be.at.least(1);
    for (const l of told)
      expect(l).to.deep.include({
        level: 'warn',
        table: 'mod_overusage_services',
        id: s.story.dutchServiceId,
        column: 'mod_overusage_services.open_period_start',
      });
    expect(JSON.stringify(lines)).not.to.include(bad);
  });

  /**
   * Both VPSs held to "suspend at the allowance" (5 000 GB). 20 May, 5 000 GB each: VPS 101 and 102
   * suspended. 1 June, 10 GB each in the new period, and VPS 102's cached open period (its start date
   * in the services row) spoiled by hand after the collect, before the watch. The work pass reads
   * the open periods of the services with an action row: 101's new period lifts its suspension
   * (unsuspend 101); 102's use is not known, so its suspension stands (lifting it from "no open
   * period" would be a guess) and the row is named in the log. Before: that read threw, and 101
   * was not lifted either.
   */
  it("lifts the others when one suspended service's open period cannot be read: that one stays suspended, the column logged", async () => {
    const lines: Array<Record<string, unknown>> = [];
    s = await buildBillingStory(knex, STORY_EUR, { log: logInto(lines) });
    for (const id of [s.story.serviceId, s.story.dutchServiceId])
      await s.mod.billing.setServiceOverride(id, { limitPolicy: { action: 'suspend' } }, CLI_ACTOR);
    await evening('2013-05-20', 5000n * GB, 5000n * GB);
    expect([...s.fake.actions].sort()).to.deep.equal(['suspend 101', 'suspend 102']);
    s.f.clock.set('2013-06-01T21:50:00Z');
    s.fake.set('101', 10n * GB);
    s.fake.set('102', 10n * GB);
    await s.mod.metering.collect();
    const bad = await spoilDate(knex, engineOf(knex), 'mod_overusage_services', 'open_period_start', {
      service_id: s.story.dutchServiceId,
    });
    await s.mod.watchUsage({ collected: true });
    expect(s.fake.actions.slice(2)).to.deep.equal(['unsuspend 101']);
    expect(await panel()).to.deep.equal({ status: 'Active', reason: '' });
    const jans = await knex('mod_overusage_limit_actions')
      .where({ service_id: s.story.dutchServiceId })
      .first('status');
    expect(jans.status).to.equal('applied');
    const told = lines.filter((l) => l.event === 'usage.row_unreadable');
    expect(told.length).to.be.at.least(1);
    for (const l of told)
      expect(l).to.deep.include({
        level: 'warn',
        table: 'mod_overusage_services',
        id: s.story.dutchServiceId,
        column: 'mod_overusage_services.open_period_start',
      });
    expect(JSON.stringify(lines)).not.to.include(bad);
  });

  /**
   * Threshold notices at 80/90/100 % of the 5 000 GB allowance. 20 May, 4 100 GB each (82 %): an
   * 80 % notice for VPS 101 and one for 102. 102's notice then has its details cut off mid-JSON by
   * hand. 22 May, 4 600 GB each (92 %): 101 gets its 90 % notice; 102 gets nothing new (what it was
   * told is not known: a notice decided from its other rows could repeat one), and the row is named
   * in the log. Before: reading the page's notices threw, and no one got a notice.
   */
  it("tells the others when one service's notice cannot be read: that one is left undecided, the column logged", async () => {
    const lines: Array<Record<string, unknown>> = [];
    s = await buildBillingStory(knex, STORY_EUR, { log: logInto(lines) });
    await evening('2013-05-20', 4100n * GB, 4100n * GB);
    const keys = async () =>
      (await knex('mod_overusage_notices').where({ kind: 'threshold' }).orderBy('id')).map((n) => [
        toNum(n.service_id),
        String(n.notice_key).replace(/^period:\d+:/, ''),
      ]);
    const ann = s.story.serviceId;
    const jan = s.story.dutchServiceId;
    expect(await keys()).to.deep.equal([
      [ann, '80'],
      [jan, '80'],
    ]);
    const bad = await knex('mod_overusage_notices').where({ service_id: jan }).first('id');
    await knex('mod_overusage_notices').where({ id: bad.id }).update({ details: '{"pct": 80, "covers": [' });
    await evening('2013-05-22', 4600n * GB, 4600n * GB);
    expect(await keys()).to.deep.equal([
      [ann, '80'],
      [jan, '80'],
      [ann, '90'],
    ]);
    const told = lines.filter((l) => l.event === 'threshold_notice.row_unreadable');
    expect(told.length).to.be.at.least(1);
    for (const l of told)
      expect(l).to.deep.include({
        level: 'warn',
        table: 'mod_overusage_notices',
        id: toNum(bad.id),
        column: 'mod_overusage_notices.details',
      });
    expect(JSON.stringify(lines)).not.to.include('covers\\": [');
  });

  it("leaves the panel's own suspension (for non-payment) alone, on SolusVM's side and in the panel", async () => {
    await s.mod.billing.setServiceOverride(
      s.story.serviceId,
      { limitPolicy: { action: 'suspend' } },
      CLI_ACTOR,
    );
    await knex('tblhosting')
      .where({ id: s.story.serviceId })
      .update({ domainstatus: 'Suspended', suspendreason: 'Overdue on Payment' });
    // the panel's module suspended the VPS on SolusVM too
    s.fake.states.set('101', 'suspended');
    await evening('2013-05-20', 5000n * GB);
    expect(s.fake.actions).to.deep.equal([]);
    expect((await rows()).map((r) => [r.status, r.panel_state])).to.deep.equal([['observed', 'none']]);
    // the next period starts: nothing of ours to undo
    await evening('2013-05-31', 6000n * GB);
    await evening('2013-06-01', 10n * GB);
    expect(s.fake.actions).to.deep.equal([]);
    expect(await panel()).to.deep.equal({ status: 'Suspended', reason: 'Overdue on Payment' });
  });

  it('marks the panel only when it shows the service active, and puts it back only while it shows our reason', async () => {
    await s.mod.billing.setServiceOverride(
      s.story.serviceId,
      { limitPolicy: { action: 'suspend' } },
      CLI_ACTOR,
    );
    await evening('2013-05-20', 5000n * GB);
    expect(await panel()).to.deep.equal({ status: 'Suspended', reason: PANEL_SUSPEND_REASON });
    // meanwhile the panel's dunning suspends it for non-payment
    await knex('tblhosting').where({ id: s.story.serviceId }).update({ suspendreason: 'Overdue on Payment' });
    await evening('2013-05-31', 6000n * GB);
    await evening('2013-06-01', 10n * GB);
    expect(s.fake.actions).to.deep.equal(['suspend 101', 'unsuspend 101']);
    expect((await rows()).map((r) => [r.status, r.lift_reason, r.panel_state])).to.deep.equal([
      ['lifted', 'next_period', 'untouched'],
    ]);
    expect(await panel()).to.deep.equal({ status: 'Suspended', reason: 'Overdue on Payment' });
  });

  it('throttles SolusVM 1 with the configured speed and puts the configured speed back when the policy changes to bill', async () => {
    await s.mod.billing.setServiceOverride(
      s.story.serviceId,
      { limitPolicy: { action: 'throttle', throttleMbps: 10, restoreMbps: 1000 } },
      CLI_ACTOR,
    );
    await evening('2013-05-20', 5000n * GB);
    expect(s.fake.actions).to.deep.equal(['setSpeed 101 {"version":1,"customnspeed":10}']);
    expect(await panel()).to.deep.equal({ status: 'Active', reason: '' });
    await s.mod.billing.setServiceOverride(s.story.serviceId, { limitPolicy: { action: 'bill' } }, ADMIN);
    await tick('2013-05-21T08:00:00Z');
    expect(s.fake.actions).to.deep.equal([
      'setSpeed 101 {"version":1,"customnspeed":10}',
      'setSpeed 101 {"version":1,"customnspeed":1000}',
    ]);
    expect((await rows()).map((r) => [r.status, r.lift_reason])).to.deep.equal([
      ['lifted', 'policy_changed'],
    ]);
  });

  it('keeps retrying with backoff while SolusVM refuses, and lifts what it never managed to apply without touching it', async () => {
    await s.mod.billing.setServiceOverride(
      s.story.serviceId,
      { limitPolicy: { action: 'suspend' } },
      CLI_ACTOR,
    );
    s.fake.failingActions.set(
      '101',
      new SolusVmError('transport', 'connection refused', { retryable: true }),
    );
    await evening('2013-05-20', 5000n * GB);
    const attempts = async () => (await rows()).map((r) => [r.status, toNum(r.attempts)]);
    expect(await attempts()).to.deep.equal([['pending', 1]]);
    await tick('2013-05-20T21:54:00Z'); // before 5 minutes
    expect(await attempts()).to.deep.equal([['pending', 1]]);
    await tick('2013-05-20T21:55:00Z');
    expect(await attempts()).to.deep.equal([['pending', 2]]);
    await tick('2013-05-20T22:04:00Z'); // the second wait is 10 minutes
    expect(await attempts()).to.deep.equal([['pending', 2]]);
    await tick('2013-05-20T22:05:00Z');
    expect(await attempts()).to.deep.equal([['pending', 3]]);
    expect(await knex('mod_overusage_audit').where({ action: 'limit.attempt_failed' })).to.have.length(3);
    // the admin calls it off: it was sent (maybe lost), so it is lifted, re-reading SolusVM first
    s.fake.failingActions.delete('101');
    const [row] = await rows();
    const after = await s.mod.limits.lift(toNum(row.id), ADMIN);
    expect(after.status).to.equal('lifted');
    expect(s.fake.actions).to.deep.equal([]);
    expect(await panel()).to.deep.equal({ status: 'Active', reason: '' });
  });

  it('sends a notice whose admin email failed again on a later tick, without repeating the client email', async () => {
    s.faulty.failNext = { method: 'sendAdminEmail', when: 'before', times: 1 };
    await evening('2013-05-20', 4100n * GB);
    const clientMails = () => knex('tblemails').where('subject', 'like', 'vps1.example.net:%');
    const adminMails = () => knex('tblemails').where('subject', 'like', 'Overusage:%traffic allowance');
    expect(await clientMails()).to.have.length(1);
    expect(await adminMails()).to.have.length(0);
    // the notice is decided and both emails are in the outbox; the admin's failed and waits 5 minutes
    const [notice] = await knex('mod_overusage_notices').where({
      kind: 'threshold',
      service_id: s.story.serviceId,
    });
    expect(notice.status).to.equal('sent');
    const outbox = await knex('mod_overusage_outbox')
      .where('message_key', 'like', `threshold:${notice.id}:%`)
      .orderBy('id');
    expect(outbox.map((o) => [o.audience, o.status, toNum(o.attempts)])).to.deep.equal([
      ['client', 'sent', 1],
      ['admin', 'failed', 1],
    ]);
    // what failed and the error's kind, never its words (test/services/stored-errors.test.ts)
    expect(outbox[1].last_error).to.equal('the email was not sent: Error');
    await tick('2013-05-20T21:52:00Z');
    expect(await adminMails()).to.have.length(0);
    await tick('2013-05-20T21:56:00Z');
    expect(await clientMails()).to.have.length(1);
    expect(await adminMails()).to.have.length(1);
    expect((await knex('mod_overusage_notices').where({ id: notice.id }).first()).status).to.equal('sent');
    // the banner shows the notice, figures as of the sample that reached it
    const banner = await s.mod.thresholds!.bannerFor(s.story.serviceId);
    expect(banner).to.deep.include({
      pct: 80,
      covers: [80],
      noticeStatus: 'sent',
      asOf: '2013-05-20',
      usedBytes: 4100n * GB,
      allowanceBytes: 5000n * GB,
      percentUsed: '82.0',
    });
    expect(banner!.runOut).to.deep.equal({ kind: 'on', date: '2013-05-25' });
    expect(banner!.cost).to.deep.equal({ soFarMinor: 0n, atEndMinor: 67750n, currency: 'EUR' });
    expect(await s.mod.thresholds!.bannerFor(s.story.dutchServiceId)).to.equal(null);
  });

  it('tells nothing for a product that is not billed, and keeps the product thresholds a service overrides', async () => {
    await s.mod.billing.setServiceOverride(s.story.serviceId, { thresholds: [50] }, CLI_ACTOR);
    await evening('2013-05-10', 2600n * GB, 4900n * GB);
    const subjects = (await knex('tblemails').where('subject', 'like', 'vps%').orderBy('id')).map(
      (e) => e.subject,
    );
    expect(subjects).to.deep.equal([
      'vps1.example.net: 50% of your traffic allowance used',
      'vps2.example.be: 90% van uw dataverkeer verbruikt',
    ]);
    await s.mod.billing.setProduct(
      s.story.productId,
      { enabled: false, unit: 'GB', allowance: '5 TB', prices: { EUR: { overage: '0.50' } } },
      CLI_ACTOR,
    );
    await evening('2013-05-11', 5600n * GB, 5900n * GB);
    expect(await knex('tblemails').where('subject', 'like', 'vps%')).to.have.length(2);
  });
});
