import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { run } from '../../cli/main.js';
import type { Knex } from 'knex';
import { silentLogger } from '../../module/adapters/logger.js';
import { toBig, toNum } from '../../module/adapters/rows.js';
import { createModule, type OverusageModule } from '../../module/index.js';
import { buildPanel, seedStory, type PanelFixture, type Story } from '../panel/support.js';
import { describeEachEngine } from '../support/engines.js';
import { FakeMaster } from '../support/fake-gateway.js';
import { CLI_ACTOR, TEST_SECRET_KEY } from '../support/module-fixture.js';
import { readablePage } from '../support/readable.js';
import { registerModule } from '../support/register-module.js';

/**
 * A month on the billing calendar whatever the counter did, with money computed by hand.
 *
 * The plan: 2 TiB a month (2 × 2^40 = 2 199 023 255 552 bytes), sold per GiB at €0.50, periods on
 * the 1st (Europe/Brussels). In November 2013 the client moves 2 TiB + 614.4 GiB
 * (2 858 730 232 218 bytes: 614.4 GiB is 659 706 976 665.6 bytes, rounded up). An admin resets
 * the counter on the master at 23:55 on 14 November, just after that day's read:
 *   - 1–14 Nov: the counter climbs to A = 1 429 365 116 109 bytes;
 *   - 15 Nov: it reads B = 100 GiB = 107 374 182 400 (traffic since the reset);
 *   - 30 Nov: it reads C = 1 429 365 116 109 (so A + C = 2 858 730 232 218).
 * Booked without a decision: A + (C − B) = 2 751 356 049 818 → over 552 332 794 266 bytes =
 * 514.4 GiB → €257.20 (the drop itself is not billed). With "it was a reset": A + C → over
 * 659 706 976 666 bytes = 614.4 GiB → €307.20. Never split into two periods with shrunken
 * allowances.
 */
const GiB = 2n ** 30n;
const A = 1_429_365_116_109n;
const B = 100n * GiB;
const C = 1_429_365_116_109n;
const ALLOWANCE = 2n * 2n ** 40n;

interface Story2 {
  f: PanelFixture;
  story: Story;
  mod: OverusageModule;
  fake: FakeMaster;
  /** runs once, inside the next GetClientsDetails the module asks the panel for */
  duringClientDetails: (() => Promise<void>) | null;
}

async function build(knex: Knex): Promise<Story2> {
  const f = await buildPanel(knex, {
    start: '2013-10-31T08:00:00Z',
    settings: { CreateInvoiceDaysBefore: '7' },
  });
  const story = await seedStory(f, { regdate: '2013-01-09', nextduedate: '2013-12-09' });
  const fake = new FakeMaster();
  const out = { duringClientDetails: null } as { duringClientDetails: (() => Promise<void>) | null };
  // the panel as the module sees it, with a way to act between two of its calls
  const panel = new Proxy(f.panel.api, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop !== 'getClientsDetails' || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const act = out.duringClientDetails;
        out.duringClientDetails = null;
        if (act) await act();
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const mod = createModule({
    knex,
    clock: f.clock,
    secretKey: TEST_SECRET_KEY,
    zone: 'Europe/Brussels',
    gatewayFor: () => fake.gateway(),
    panel,
    log: silentLogger,
    metering: { writer: 'inline' },
  });
  await mod.migrateDown();
  registerModule(f.panel, mod);
  await f.panel.addons.activate('overusage');
  const master = await mod.masters.add(
    {
      name: 'solus',
      version: 1,
      baseUrl: 'https://solus.example.net:5656',
      apiId: 'i',
      apiKey: 'k',
      timeZone: 'Europe/Brussels',
    },
    CLI_ACTOR,
  );
  await mod.links.link(
    {
      serviceId: story.serviceId,
      clientId: story.clientId,
      productId: story.productId,
      masterId: master.id,
      serverRef: '101',
    },
    CLI_ACTOR,
  );
  await mod.billing.setProduct(
    story.productId,
    {
      unit: 'GiB',
      model: 'per_unit',
      allowance: '2 TiB',
      prices: { EUR: { overage: '0.50', precommit: '0.35' } },
      window: { days: 14, counting: 'calendar', holidays: 'BE' },
    },
    CLI_ACTOR,
  );
  return Object.assign(out, { f, story, mod, fake });
}

const pad = (d: number) => String(d).padStart(2, '0');

/** Reads the counter at 23:50 Brussels (22:50 UTC in November) on each day from `from` to `to`. */
async function sampleDays(
  s: Story2,
  month: string,
  from: number,
  to: number,
  counter: (day: number) => bigint,
): Promise<void> {
  for (let d = from; d <= to; d++) {
    s.f.clock.set(`${month}-${pad(d)}T22:50:00Z`);
    s.fake.set('101', counter(d));
    await s.mod.metering.collect();
  }
}

/** The counter at 23:50 on day `d` of November: the first half, the reset after the 14th's read, the second half. */
const novemberCounter = (d: number) =>
  d <= 14 ? (A * BigInt(d)) / 14n : B + ((C - B) * BigInt(d - 15)) / 15n;

/** November as the story tells it, read every evening up to day `upTo`. */
async function november(s: Story2, upTo = 30, from = 1): Promise<void> {
  await sampleDays(s, '2013-11', from, upTo, novemberCounter);
}

async function novemberPeriod(knex: Knex, serviceId: number) {
  return knex('mod_overusage_periods').where({ service_id: serviceId, start_date: '2013-11-01' }).first();
}

describeEachEngine('usage periods on the billing calendar', ({ db }) => {
  let knex: Knex;
  let s: Story2;

  beforeEach(async () => {
    knex = db().knex;
    s = await build(knex);
  });

  describe('a manual reset on 14 November, read every evening up to the 20th', () => {
    // used so far: A, then 16–20 Nov (C − B) × 5 / 15, the drop itself not booked
    const sofar = A + ((C - B) * 5n) / 15n;
    let anomalyId: number;
    const decideReset = async () => {
      const open = readablePage(await s.mod.usagePeriods.anomalies({ serviceId: s.story.serviceId }));
      anomalyId = open.rows[0]!.id;
      return s.mod.usagePeriods.decide(
        anomalyId,
        { decision: 'reset', reason: 'reset by hand on the master at 23:55 on 14 Nov (its log)' },
        { type: 'admin', id: '1' },
      );
    };

    beforeEach(async () => {
      await november(s, 20);
    });

    it('keeps the month one open period and books nothing for the drop until an admin decides', async () => {
      const periods = await knex('mod_overusage_periods')
        .where({ service_id: s.story.serviceId })
        .orderBy('start_date');
      expect(periods.map((p) => [p.start_date, p.end_date, p.status])).to.deep.equal([
        ['2013-11-01', '2013-11-30', 'open'],
      ]);
      const open = readablePage(await s.mod.usagePeriods.anomalies({ serviceId: s.story.serviceId }));
      expect(open.rows.map((a) => [a.kind, a.seenOn, a.status])).to.deep.equal([
        ['mid_period_drop', '2013-11-15', 'open'],
      ]);
      expect(open.rows[0]!.details).to.deep.include({ fromBytes: A.toString(), toBytes: B.toString() });
      expect(toBig((await novemberPeriod(knex, s.story.serviceId)).used_bytes)).to.equal(sofar);
    });

    it("books the counter's value before the reset when the admin decides it was one, on the period and the service row", async () => {
      const out = await decideReset();
      expect(out.bookedBytes).to.equal(B);
      expect(out.rerate).to.equal(null); // still open: nothing rated yet
      expect(toBig((await novemberPeriod(knex, s.story.serviceId)).used_bytes)).to.equal(sofar + B);
      // the service row the widget and the usage watch read says the same
      expect(
        toBig(
          (await knex('mod_overusage_services').where({ service_id: s.story.serviceId }).first())
            .open_period_used_bytes,
        ),
      ).to.equal(sofar + B);
    });

    it('refuses a second decision on the same anomaly (CONFLICT, "already decided")', async () => {
      await decideReset();
      const again = await s.mod.usagePeriods
        .decide(anomalyId, { decision: 'correction', reason: 'changed my mind' }, { type: 'admin', id: '1' })
        .then(
          () => null,
          (err: { code?: string; message: string }) => err,
        );
      expect(again).to.deep.include({ code: 'CONFLICT' });
      expect(again!.message).to.match(/already decided/);
    });

    it('rates the whole month with the full allowance: 614.4 GiB over × €0.50 = €307.20, the decision audited once', async () => {
      await decideReset();
      await november(s, 30, 21);
      s.f.clock.set('2013-12-01T08:00:00Z');
      await s.mod.rating.rateClosedPeriods();
      const charge = await knex('mod_overusage_charges').where({ service_id: s.story.serviceId }).first();
      expect(toBig(charge.used_bytes)).to.equal(A + C);
      expect(toBig(charge.allowance_bytes)).to.equal(ALLOWANCE); // the whole month's: never prorated for a reset
      expect(toBig(charge.over_bytes)).to.equal(659_706_976_666n);
      expect(toBig(charge.amount_minor)).to.equal(30720n); // 614.4 GiB × €0.50 = €307.20
      const audit = await knex('mod_overusage_audit').where({ action: 'anomaly.decided' });
      expect(audit).to.have.length(1);
      expect(JSON.parse(audit[0].details)).to.deep.include({ decision: 'reset', bookedBytes: B.toString() });
    });
  });

  it('rates the month without the drop while undecided, and replaces the charge when the decision comes before invoicing', async () => {
    await november(s);
    s.f.clock.set('2013-12-01T08:00:00Z');
    await s.mod.rating.rateClosedPeriods();
    let charge = await knex('mod_overusage_charges').where({ service_id: s.story.serviceId }).first();
    expect(toBig(charge.over_bytes)).to.equal(552_332_794_266n); // 514.4 GiB
    expect(toBig(charge.amount_minor)).to.equal(25720n); // €257.20
    const [anomaly] = readablePage(await s.mod.usagePeriods.anomalies({ serviceId: s.story.serviceId })).rows;
    const out = await s.mod.usagePeriods.decide(
      anomaly!.id,
      { decision: 'reset', reason: 'the master log shows a manual reset' },
      { type: 'admin', id: '1' },
    );
    expect(out.rerate).to.deep.include({
      kind: 'replaced',
      currency: 'EUR',
      beforeMinor: 25720n,
      afterMinor: 30720n,
    });
    charge = await knex('mod_overusage_charges').where({ service_id: s.story.serviceId });
    expect(charge).to.have.length(1);
    expect(toBig(charge[0].amount_minor)).to.equal(30720n);
    const rerated = await knex('mod_overusage_audit').where({ action: 'charge.rerated' }).first();
    expect(JSON.parse(rerated.details)).to.deep.include({ because: 'anomaly.decided' });
  });

  it('books nothing when the admin says the drop was a correction', async () => {
    await november(s);
    const [anomaly] = readablePage(await s.mod.usagePeriods.anomalies({ serviceId: s.story.serviceId })).rows;
    const out = await s.mod.usagePeriods.decide(
      anomaly!.id,
      { decision: 'correction', reason: 'the provider corrected a double count' },
      { type: 'admin', id: '1' },
    );
    expect(out.bookedBytes).to.equal(0n);
    s.f.clock.set('2013-12-01T08:00:00Z');
    await s.mod.rating.rateClosedPeriods();
    const charge = await knex('mod_overusage_charges').where({ service_id: s.story.serviceId }).first();
    expect(toBig(charge.amount_minor)).to.equal(25720n);
    const interval = await knex('mod_overusage_intervals')
      .where({ id: (await knex('mod_overusage_anomalies').where({ id: anomaly!.id }).first()).interval_id })
      .first();
    expect([interval.kind, toBig(interval.bytes)]).to.deep.equal(['correction', 0n]);
  });

  it('puts a decision made after invoicing on the next invoice as a correction line, never editing the sent one', async () => {
    await november(s);
    // SolusVM resets the counter at midnight on 1 December; 1 December moves 5 GiB
    s.fake.set('101', 5n * GiB);
    // 2 December: the renewal invoice for 9 December takes November's line (€257.20)
    s.f.clock.set('2013-12-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-12-02');
    const first = await knex('mod_overusage_lines').first();
    expect(toBig(first.amount_minor)).to.equal(25720n);
    const sentItem = await knex('tblinvoiceitems').where({ id: first.invoice_item_id }).first();

    const pending = readablePage(await s.mod.usagePeriods.anomalies({ serviceId: s.story.serviceId })).rows;
    expect(pending.map((a) => a.kind)).to.deep.equal(['mid_period_drop']);
    const out = await s.mod.usagePeriods.decide(
      pending[0]!.id,
      { decision: 'reset', reason: 'master log: manual reset 14 Nov 23:55' },
      { type: 'admin', id: '1' },
    );
    // billed €257.20, the month now rates €307.20: €50.00 more (100 GiB × €0.50)
    expect(out.rerate).to.deep.include({
      kind: 'corrected',
      billedMinor: 25720n,
      afterMinor: 30720n,
      differenceMinor: 5000n,
      status: 'unbilled',
    });
    expect(await knex('tblinvoiceitems').where({ id: first.invoice_item_id }).first()).to.deep.equal(
      sentItem,
    );

    // keep December quiet and let the January renewal (due 9 January) carry the correction
    s.f.clock.set('2013-12-03T08:00:00Z');
    await s.f.panel.api.addInvoicePayment({
      invoiceId: toNum(first.invoice_id),
      transId: 'T1',
      gateway: 'banktransfer',
    });
    s.f.clock.set('2014-01-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2014-01-02');
    const lines = await knex('mod_overusage_lines').orderBy('id');
    expect(lines).to.have.length(2);
    expect(toBig(lines[1].amount_minor)).to.equal(5000n);
    expect(lines[1].description).to.match(
      /^Correction of bandwidth overusage 1\s?–\s?30 November 2013 \(re-measured\): .*now €307\.20, already billed €257\.20/,
    );
    const item = await knex('tblinvoiceitems').where({ id: lines[1].invoice_item_id }).first();
    expect(String(item.amount)).to.match(/^50(\.00?)?$/);
  });

  it('rebuilds months an earlier version merged when SolusVM skipped a reset, and credits what was billed too much on the next invoice', async () => {
    // December and January each move 1.5 TiB (within the 2 TiB allowance); SolusVM skipped the
    // reset on 1 January and reset on 2 February. The earlier version kept one period from
    // 1 December to 1 February (3 TiB + 1 February's 10 GiB) against one month's allowance and
    // billed it: over 1 TiB + 10 GiB = 1034 GiB × €0.50 = €517.00. On the calendar both months
    // are within the allowance: €0.00 each, so the next invoice credits −€517.00.
    const TiB = 2n ** 40n;
    const perDay = (3n * TiB) / 62n; // 62 days: December and January
    await sampleDays(s, '2013-12', 1, 31, (d) => perDay * BigInt(d));
    await sampleDays(s, '2014-01', 1, 31, (d) => perDay * BigInt(31 + d));
    await sampleDays(s, '2014-02', 1, 1, () => perDay * 62n + 10n * GiB);
    await sampleDays(s, '2014-02', 2, 2, () => 7n * GiB);
    const dec = perDay * 31n;
    const jan = perDay * 31n;
    const merged = dec + jan + 10n * GiB;

    // What the earlier version left: periods split by the counter, the merged one rated and billed.
    await knex('mod_overusage_anomalies').delete();
    await knex('mod_overusage_intervals').delete();
    await knex('mod_overusage_charges').delete();
    await knex('mod_overusage_periods').delete();
    const sampleIds = (
      await knex('mod_overusage_samples').orderBy('sampled_at').select('id', 'sample_date')
    ).map((r) => [toNum(r.id), String(r.sample_date)] as const);
    await knex('mod_overusage_periods').insert([
      {
        service_id: s.story.serviceId,
        start_date: '2013-12-01',
        end_date: '2014-02-01',
        status: 'closed',
        opened_by: 'first_sample',
        closed_by: 'policy_reset',
        used_bytes: merged.toString(),
        anomaly: 'reset_not_seen',
        created_at: '2013-12-01 22:50:00.000',
      },
      {
        service_id: s.story.serviceId,
        start_date: '2014-02-02',
        end_date: '2014-02-28',
        status: 'open',
        opened_by: 'policy_reset',
        used_bytes: (7n * GiB).toString(),
        created_at: '2014-02-02 22:50:00.000',
      },
    ]);
    const old = await knex('mod_overusage_periods').orderBy('start_date');
    await knex('mod_overusage_intervals').insert([
      {
        service_id: s.story.serviceId,
        period_id: old[0].id,
        from_sample_id: null,
        to_sample_id: sampleIds[0]![0],
        kind: 'before_metering',
        from_date: '2013-12-01',
        to_date: '2014-02-01',
        bytes: merged.toString(),
      },
      {
        service_id: s.story.serviceId,
        period_id: old[1].id,
        from_sample_id: sampleIds[sampleIds.length - 2]![0],
        to_sample_id: sampleIds[sampleIds.length - 1]![0],
        kind: 'since_reset',
        from_date: '2014-02-02',
        to_date: '2014-02-02',
        bytes: (7n * GiB).toString(),
      },
    ]);
    const invoice = await s.f.panel.api.createInvoice({
      userId: s.story.clientId,
      date: '2014-02-03',
      dueDate: '2014-02-17',
      items: [
        {
          description: 'Bandwidth overusage 1 December 2013 – 1 February 2014 [OU-LEGACY1]',
          amount: '517.00',
          taxed: false,
        },
      ],
    });
    const item = (await knex('tblinvoiceitems').where({ invoiceid: invoice.invoiceId }).first('id')).id;
    const overBytes = merged - ALLOWANCE;
    await knex('mod_overusage_charges').insert({
      period_id: old[0].id,
      service_id: s.story.serviceId,
      client_id: s.story.clientId,
      product_id: s.story.productId,
      period_start: '2013-12-01',
      period_end: '2014-02-01',
      currency: 'EUR',
      used_bytes: merged.toString(),
      allowance_bytes: ALLOWANCE.toString(),
      over_bytes: overBytes.toString(),
      amount_minor: '51700',
      rounded_minor: '51700',
      status: 'billed',
      explanation: '{}',
      taxed: false,
      rated_at: '2014-02-03 08:00:00.000',
      billed_at: '2014-02-03 08:00:00.000',
    });
    const charge = await knex('mod_overusage_charges').first('id');
    await knex('mod_overusage_lines').insert({
      charge_id: charge.id,
      service_id: s.story.serviceId,
      client_id: s.story.clientId,
      invoice_id: invoice.invoiceId,
      invoice_item_id: item,
      ref_code: 'OU-LEGACY1',
      status: 'placed',
      amount_minor: '51700',
      currency: 'EUR',
      description: 'Bandwidth overusage 1 December 2013 – 1 February 2014 [OU-LEGACY1]',
      locale: 'en-GB',
      invoice_date: '2014-02-03',
      window_days: 14,
      window_counting: 'calendar',
      window_holidays: 'BE',
      deadline_last_day: '2014-02-17',
      deadline_closes_at: '2014-02-17 23:00:00.000',
      created_at: '2014-02-03 08:00:00.000',
      placed_at: '2014-02-03 08:00:00.000',
    });
    await knex('mod_overusage_services')
      .where({ service_id: s.story.serviceId })
      .update({
        calendar_version: 0,
        open_period_id: old[1].id,
        open_period_start: '2014-02-02',
        open_period_end: '2014-02-28',
        open_period_used_bytes: (7n * GiB).toString(),
        reset_due_on: null,
      });

    // The upgrade: migrations, then the rebuild from the kept samples.
    s.f.clock.set('2014-02-03T09:00:00Z');
    await s.mod.migrate();
    const periods = await knex('mod_overusage_periods')
      .where({ service_id: s.story.serviceId })
      .orderBy('start_date');
    expect(periods.map((p) => [p.start_date, p.end_date, p.status, toBig(p.used_bytes)])).to.deep.equal([
      ['2013-12-01', '2013-12-31', 'closed', dec],
      ['2014-01-01', '2014-01-31', 'closed', jan],
      ['2014-02-01', '2014-02-28', 'open', 17n * GiB],
    ]);
    // the billed line kept its period id (December starts where the merged one did)
    expect(toNum(periods[0].id)).to.equal(toNum(old[0].id));
    const kinds = (
      await knex('mod_overusage_anomalies').where({ service_id: s.story.serviceId }).orderBy('id')
    ).map((a) => `${a.kind}:${a.status}`);
    expect(kinds).to.deep.equal(['reset_not_seen:resolved', 'reset_not_seen:resolved', 'late_reset:info']);
    const charges = await knex('mod_overusage_charges').where({ period_id: periods[0].id }).orderBy('seq');
    expect(charges.map((c) => [toNum(c.seq), c.kind, c.status, toBig(c.amount_minor)])).to.deep.equal([
      [0, 'usage', 'billed', 51700n],
      [1, 'correction', 'unbilled', -51700n],
    ]);
    expect(
      JSON.parse((await knex('mod_overusage_audit').where({ action: 'periods.rebuilt' }).first()).details),
    ).to.deep.include({ periodsBefore: 2, periodsAfter: 3, calendar: 'first_of_month' });

    // January is rated like any closed period: within the allowance, nothing to bill
    await s.mod.rating.rateClosedPeriods();
    const janCharge = await knex('mod_overusage_charges').where({ period_id: periods[1].id }).first();
    expect([janCharge.status, toBig(janCharge.amount_minor)]).to.deep.equal(['within_allowance', 0n]);

    // The next renewal (due 9 March, invoiced 2 March) carries the credit line.
    s.fake.set('101', 20n * GiB);
    s.f.clock.set('2014-03-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2014-03-02');
    const credit = await knex('mod_overusage_lines').where({ charge_id: charges[1].id }).first();
    expect(toBig(credit.amount_minor)).to.equal(-51700n);
    expect(credit.description).to.match(
      /^Correction of bandwidth overusage 1\s?–\s?31 December 2013 \(re-measured\): .*now €0\.00, already billed €517\.00/,
    );
    const creditItem = await knex('tblinvoiceitems').where({ id: credit.invoice_item_id }).first();
    expect(String(creditItem.amount)).to.match(/^-517(\.00?)?$/);
  });

  it('lets an operator see the periods and decide the drop from the command line', async () => {
    await november(s);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-cli-'));
    const out: string[] = [];
    const err: string[] = [];
    const io = {
      out: (t: string) => out.push(t),
      err: (t: string) => err.push(t),
      isTTY: false,
      env: {
        OVERUSAGE_DATA_DIR: dir,
        OVERUSAGE_LOG_LEVEL: 'error',
        OVERUSAGE_SECRET_KEY: TEST_SECRET_KEY.toString('hex'),
      } as NodeJS.ProcessEnv,
    };
    // exit codes as the README lists them: 0 done, 2 bad input, 3 not found, 4 conflict
    const cli = (...args: string[]) => run(['--db', db().url, '--zone', 'Europe/Brussels', ...args], io);
    try {
      expect(await cli('anomaly', 'list')).to.equal(0);
      expect(out.pop()).to.match(
        /\tservice \d+\t2013-11-01 – 2013-11-30\tmid_period_drop\topen\tcounter dropped from 1\.43 TB to 107\.37 GB \(read 2013-11-15\)/,
      );
      const [anomaly] = readablePage(
        await s.mod.usagePeriods.anomalies({ serviceId: s.story.serviceId }),
      ).rows;
      expect(await cli('anomaly', 'decide', String(anomaly!.id), '--as', 'maybe', '--reason', 'x')).to.equal(
        2,
      );
      expect(
        await cli(
          'anomaly',
          'decide',
          String(anomaly!.id),
          '--as',
          'reset',
          '--reason',
          'master log shows the reset',
        ),
      ).to.equal(0);
      // 100 GiB = 107 374 182 400 bytes = 107.37 GB; November was read to its last day, so it is rated now: €307.20
      expect(out.pop()).to.equal(
        `anomaly ${anomaly!.id}: reset, 107.37 GB booked; the period is rated: €307.20`,
      );
      expect(
        await cli('anomaly', 'decide', String(anomaly!.id), '--as', 'reset', '--reason', 'again'),
      ).to.equal(4);
      expect(await cli('--json', 'periods', '--service', String(s.story.serviceId))).to.equal(0);
      const json = JSON.parse(out.pop()!) as {
        periods: Array<{
          start: string;
          end: string;
          state: string;
          usedBytes: string;
          anomalies: Array<{ status: string; decision: string }>;
        }>;
      };
      // A + C = 2 858 730 232 218 bytes: the whole month, read to its last day
      expect(json.periods.map((p) => [p.start, p.end, p.state, p.usedBytes])).to.deep.equal([
        ['2013-11-01', '2013-11-30', 'rated', '2858730232218'],
      ]);
      expect(json.periods[0]!.anomalies.map((a) => [a.status, a.decision])).to.deep.equal([
        ['decided', 'reset'],
      ]);
      expect(await cli('periods', '--service', '999999')).to.equal(3);
      // where an anniversary day comes from, per master
      expect(await cli('master', 'update', '1', '--anniversary-from', 'sometimes')).to.equal(2);
      expect(await cli('--json', 'master', 'update', '1', '--anniversary-from', 'panel')).to.equal(0);
      expect(JSON.parse(out.pop()!)).to.deep.include({ anniversaryFrom: 'panel' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("tells the client at 100 % of the whole month's allowance across a manual reset, when the month really reaches it", async () => {
    // Undecided, the month so far is A + (C − B) × (d − 15) / 15 from the 15th on; it reaches
    // 2 TiB (2 199 023 255 552) when (C − B) × (d − 15) / 15 ≥ 769 658 139 443, i.e. d − 15 ≥ 8.73:
    // on the read of 24 November, not before, and never against a shrunken half-month allowance.
    const keys = async () =>
      (
        await knex('mod_overusage_notices')
          .where({ service_id: s.story.serviceId, kind: 'threshold' })
          .orderBy('id')
      ).map((n) => String(n.notice_key).split(':')[2]);
    for (let d = 1; d <= 24; d++) {
      await november(s, d, d);
      await s.mod.watchUsage({ collected: true });
      if (d === 14) expect(await keys(), 'by 14 November').to.deep.equal([]); // 1.3 TiB: 65 %
      if (d === 23) expect(await keys(), 'by 23 November').to.deep.equal(['80', '90']);
    }
    expect(await keys(), 'by 24 November').to.deep.equal(['80', '90', '100']);
  });

  it('never places a line at a figure a decision changed while the renewal was being built', async () => {
    await november(s);
    s.fake.set('101', 5n * GiB);
    const [anomaly] = readablePage(await s.mod.usagePeriods.anomalies({ serviceId: s.story.serviceId })).rows;
    // The renewal rates November (€257.20) and reads the charge; before it writes the line, an
    // admin decides the drop was a reset: the charge becomes €307.20. The line at €257.20 must not
    // be written; the charge waits for the next renewal at its new figure.
    s.duringClientDetails = async () => {
      await s.mod.usagePeriods.decide(
        anomaly!.id,
        { decision: 'reset', reason: 'decided while the invoice was being made' },
        { type: 'admin', id: '1' },
      );
    };
    s.f.clock.set('2013-12-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-12-02');
    expect(s.duringClientDetails).to.equal(null);
    expect(await knex('mod_overusage_lines')).to.have.length(0);
    const charge = await knex('mod_overusage_charges').where({ service_id: s.story.serviceId }).first();
    expect([charge.status, toBig(charge.amount_minor)]).to.deep.equal(['unbilled', 30720n]);
    const december = await knex('tblinvoiceitems')
      .where({ type: 'Hosting', relid: s.story.serviceId })
      .first('invoiceid');
    expect(await knex('tblinvoiceitems').where({ invoiceid: december.invoiceid })).to.have.length(1);
    // the January renewal carries it, at the figure the decision gave
    await s.f.panel.api.addInvoicePayment({
      invoiceId: toNum(december.invoiceid),
      transId: 'T1',
      gateway: 'banktransfer',
    });
    s.f.clock.set('2014-01-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2014-01-02');
    const line = await knex('mod_overusage_lines').first();
    expect(toBig(line.amount_minor)).to.equal(30720n);
  });
});
