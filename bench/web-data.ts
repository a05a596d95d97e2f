/**
 * Data for the web benchmarks: one VPS with 400 days of history through the real pipeline, and
 * 100 000 lines with their disputes written directly.
 */
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import type { ManualClock } from '../module/adapters/clocks.js';
import type { Logger } from '../module/adapters/logger.js';
import { sqlInstant, toNum } from '../module/adapters/rows.js';
import { insertChunked } from '../module/adapters/sql-helpers.js';
import { createModule, type OverusageModule } from '../module/index.js';
import type { TestDatabase } from '../test/support/engines.js';
import type { FakeMaster } from '../test/support/fake-gateway.js';

export const ZONE = 'Europe/Brussels';
export const SECRET = Buffer.alloc(32, 9);
export const NOW = '2014-06-15T10:00:00Z';
const GB = 10n ** 9n;

export function moduleOn(
  db: TestDatabase,
  clock: ManualClock,
  fake: FakeMaster,
  cacheMs: number,
  log: Logger,
): OverusageModule {
  return createModule({
    knex: db.knex,
    clock,
    secretKey: SECRET,
    zone: ZONE,
    gatewayFor: () => fake.gateway(),
    log,
    metering: { writer: 'inline' },
    web: { cacheMs },
  });
}

/** 400 days of one VPS through the real pipeline: a sample every evening (some reads fail), periods closed on the 1st and rated, a line per billed period. */
export async function widgetData(
  db: TestDatabase,
  mod: OverusageModule,
  clock: ManualClock,
  fake: FakeMaster,
  days: number,
) {
  const actor = { type: 'system' as const, id: 'bench' };
  const master = await mod.masters.add(
    {
      name: 'bench',
      version: 1,
      baseUrl: 'https://solus.example.net:5656',
      apiId: 'i',
      apiKey: 'k',
      timeZone: ZONE,
    },
    actor,
  );
  await mod.billing.setProduct(
    1,
    {
      unit: 'GB',
      model: 'per_unit',
      allowance: '5 TB',
      prices: { EUR: { overage: '0.50', precommit: '0.35' } },
    },
    actor,
  );
  await mod.links.link(
    { serviceId: 1, clientId: 1, productId: 1, masterId: master.id, serverRef: '101', regdate: '2012-01-15' },
    actor,
  );
  const end = DateTime.fromISO(NOW, { zone: 'utc' });
  let counter = 0n;
  for (let i = days; i >= 1; i--) {
    const at = end.minus({ days: i }).set({ hour: 21, minute: 50 });
    const local = at.setZone(ZONE);
    if (local.day === 1) counter = 0n;
    // 120–220 GB a day, more on weekdays, a different month a different level
    const gb = 120n + BigInt((i * 37) % 60) + (local.weekday <= 5 ? 40n : 0n) + BigInt(local.month % 3) * 10n;
    counter += gb * GB;
    clock.set(at);
    fake.set('101', counter);
    if (i % 37 === 0) fake.fail('101');
    else fake.fail('101', null);
    await mod.metering.collect();
  }
  fake.fail('101', null);
  clock.set(NOW);
  await mod.rating.rateClosedPeriods();
  const charges = await db.knex('mod_overusage_charges').where({ service_id: 1 }).orderBy('period_start');
  let n = 0;
  for (const c of charges.filter((x) => x.status === 'billed' || x.status === 'unbilled')) {
    const invoiceDate = DateTime.fromISO(String(c.period_end).slice(0, 10), { zone: 'utc' }).plus({
      days: 3,
    });
    const last = invoiceDate.plus({ days: 14 });
    await db.knex('mod_overusage_lines').insert({
      charge_id: c.id,
      service_id: 1,
      client_id: 1,
      invoice_id: 1000 + ++n,
      ref_code: `OU-BENCH${String(n).padStart(5, '0')}`,
      status: 'placed',
      amount_minor: String(c.amount_minor),
      currency: 'EUR',
      description: `Bandwidth overusage ${c.period_start}–${c.period_end}: bench line [OU-BENCH${String(n).padStart(5, '0')}]`,
      locale: 'en-GB',
      invoice_date: invoiceDate.toISODate(),
      window_days: 14,
      window_counting: 'calendar',
      window_holidays: 'BE',
      deadline_last_day: last.toISODate(),
      deadline_closes_at: sqlInstant(last.setZone(ZONE).endOf('day')),
      created_at: sqlInstant(invoiceDate),
      placed_at: sqlInstant(invoiceDate),
    });
  }
  await db
    .knex('mod_overusage_charges')
    .where({ service_id: 1, status: 'unbilled' })
    .update({ status: 'billed' });
  return {
    lines: n,
    periods: toNum(
      (await db.knex('mod_overusage_periods').where({ service_id: 1 }).count({ n: '*' }).first())!.n,
    ),
    samples: toNum((await db.knex('mod_overusage_samples').count({ n: '*' }).first())!.n),
  };
}

/**
 * 100 000 lines on 25 000 services of 20 000 clients; every 5th disputed, every 10th still open.
 * More lines scale the provider, not the history: 1 000 000 lines are 250 000 services of 200 000
 * clients over the same 5 months and the same year of dispute activity (5 minutes apart at 100 000,
 * 30 s at 1 000 000), so no line or dispute lies after the benchmark's "now" (NOW).
 * MariaDB: written by INSERT … SELECT over a sequence (seconds for 1 000 000); SQLite: built in
 * JS, 10 000 lines at a time.
 */
export async function disputeData(db: TestDatabase, lines: number) {
  const k = db.knex;
  const scale = lines / 100_000;
  const services = Math.max(1, Math.round(25_000 * scale));
  const clients = Math.max(1, Math.round(20_000 * scale));
  const stepSeconds = 300 / scale;
  if (db.engine === 'mysql') await disputeDataSql(k, lines, services, clients, stepSeconds);
  else await disputeDataJs(k, lines, services, clients, stepSeconds);
  if (db.engine === 'sqlite') await k.raw('ANALYZE');
  else
    for (const t of ['mod_overusage_charges', 'mod_overusage_lines', 'mod_overusage_disputes'])
      await k.raw(`ANALYZE TABLE ${t}`);
  const n = (q: Knex.QueryBuilder) =>
    q
      .count({ n: '*' })
      .first()
      .then((r) => toNum((r as { n: unknown }).n));
  return {
    lines,
    disputes: await n(k('mod_overusage_disputes')),
    open: await n(k('mod_overusage_disputes').where({ state: 'open' })),
  };
}

async function disputeDataJs(
  k: Knex,
  lines: number,
  services: number,
  clients: number,
  stepSeconds: number,
): Promise<void> {
  const start = DateTime.fromISO('2013-06-01T08:00:00Z', { zone: 'utc' });
  const explanation = JSON.stringify({ rated: { unit: 'GB' } });
  const CHUNK = 10_000;
  for (let from = 1; from <= lines; from += CHUNK) {
    const charges: Array<Record<string, unknown>> = [];
    const rows: Array<Record<string, unknown>> = [];
    const disputes: Array<Record<string, unknown>> = [];
    for (let i = from; i < from + CHUNK && i <= lines; i++) {
      const service = (i % services) + 1;
      const client = (service % clients) + 1;
      const month = DateTime.fromISO('2013-01-01', { zone: 'utc' }).plus({
        months: Math.floor(i / services),
      });
      const at = start.plus({ seconds: i * stepSeconds });
      charges.push({
        id: i,
        period_id: i,
        service_id: service,
        client_id: client,
        product_id: 1,
        period_start: month.toISODate(),
        period_end: month.endOf('month').toISODate(),
        currency: 'EUR',
        used_bytes: '6000000000000',
        allowance_bytes: '5000000000000',
        over_bytes: '1000000000000',
        amount_minor: String(10000 + (i % 50000)),
        rounded_minor: String(10000 + (i % 50000)),
        status: 'billed',
        explanation,
        taxed: true,
        rated_at: sqlInstant(at),
        billed_at: sqlInstant(at),
      });
      const isOpen = i % 10 === 0;
      rows.push({
        id: i,
        charge_id: i,
        service_id: service,
        client_id: client,
        invoice_id: 500_000 + i,
        invoice_item_id: 900_000 + i,
        ref_code: `OU-${i.toString(16).toUpperCase().padStart(10, '0')}`,
        status: isOpen ? 'held' : 'placed',
        amount_minor: String(10000 + (i % 50000)),
        currency: 'EUR',
        description: `Bandwidth overusage ${month.toFormat('LLLL yyyy')}: 6.000 TB used, 5.000 TB included [OU-${i}]`,
        locale: 'en-GB',
        invoice_date: at.toISODate(),
        window_days: 14,
        window_counting: 'calendar',
        window_holidays: 'BE',
        deadline_last_day: at.plus({ days: 14 }).toISODate(),
        deadline_closes_at: sqlInstant(at.plus({ days: 15 })),
        created_at: sqlInstant(at),
        placed_at: sqlInstant(at),
      });
      if (i % 5 === 0) {
        disputes.push({
          line_id: i,
          client_id: client,
          service_id: service,
          state: isOpen ? 'open' : 'upheld',
          reason: `reason ${i}: I do not recognise this traffic`,
          opened_by_type: 'client',
          opened_by_id: String(client),
          opened_at: sqlInstant(at.plus({ days: 2 })),
          hold_state: isOpen ? 'held' : 'published',
          original_invoice_id: 500_000 + i,
          held_invoice_id: 700_000 + i,
          held_item_id: 800_000 + i,
          amount_before_minor: String(10000 + (i % 50000)),
          currency: 'EUR',
          version: isOpen ? 1 : 3,
          updated_at: sqlInstant(at.plus({ days: 2 })),
          resolved_at: isOpen ? null : sqlInstant(at.plus({ days: 9 })),
        });
      }
    }
    await k.transaction(async (trx) => {
      await insertChunked(trx, 'mod_overusage_charges', charges, { chunkSize: 400 });
      await insertChunked(trx, 'mod_overusage_lines', rows, { chunkSize: 400 });
      await insertChunked(trx, 'mod_overusage_disputes', disputes, { chunkSize: 400 });
    });
  }
}

/** The same rows as disputeDataJs, by INSERT … SELECT over MariaDB's sequence engine. */
async function disputeDataSql(
  k: Knex,
  lines: number,
  services: number,
  clients: number,
  stepSeconds: number,
): Promise<void> {
  const seq = `(SELECT seq AS n FROM seq_1_to_${lines}) s`;
  const service = `((s.n % ${services}) + 1)`;
  const client = `((((s.n % ${services}) + 1) % ${clients}) + 1)`;
  const month = `DATE_ADD('2013-01-01', INTERVAL FLOOR(s.n / ${services}) MONTH)`;
  const at = `DATE_ADD('2013-06-01 08:00:00.000', INTERVAL s.n * ${stepSeconds * 1000} * 1000 MICROSECOND)`;
  const amount = `CAST(10000 + (s.n % 50000) AS CHAR)`;
  const open = `(s.n % 10 = 0)`;
  await k.raw(
    `INSERT INTO mod_overusage_charges (id, period_id, service_id, client_id, product_id, period_start, period_end, currency, used_bytes, allowance_bytes, over_bytes, amount_minor, rounded_minor, status, explanation, taxed, rated_at, billed_at) ` +
      `SELECT s.n, s.n, ${service}, ${client}, 1, ${month}, LAST_DAY(${month}), 'EUR', 6000000000000, 5000000000000, 1000000000000, ${amount}, ${amount}, 'billed', ?, 1, ${at}, ${at} FROM ${seq}`,
    [JSON.stringify({ rated: { unit: 'GB' } })],
  );
  await k.raw(
    `INSERT INTO mod_overusage_lines (id, charge_id, service_id, client_id, invoice_id, invoice_item_id, ref_code, status, amount_minor, currency, description, locale, invoice_date, window_days, window_counting, window_holidays, deadline_last_day, deadline_closes_at, created_at, placed_at) ` +
      `SELECT s.n, s.n, ${service}, ${client}, 500000 + s.n, 900000 + s.n, CONCAT('OU-', LPAD(HEX(s.n), 10, '0')), IF(${open}, 'held', 'placed'), ${amount}, 'EUR', ` +
      `CONCAT('Bandwidth overusage ', DATE_FORMAT(${month}, '%M %Y'), ': 6.000 TB used, 5.000 TB included [OU-', s.n, ']'), 'en-GB', DATE(${at}), 14, 'calendar', 'BE', DATE(DATE_ADD(${at}, INTERVAL 14 DAY)), DATE_ADD(${at}, INTERVAL 15 DAY), ${at}, ${at} FROM ${seq}`,
  );
  await k.raw(
    `INSERT INTO mod_overusage_disputes (line_id, client_id, service_id, state, reason, opened_by_type, opened_by_id, opened_at, hold_state, original_invoice_id, held_invoice_id, held_item_id, amount_before_minor, currency, version, updated_at, resolved_at) ` +
      `SELECT s.n, ${client}, ${service}, IF(${open}, 'open', 'upheld'), CONCAT('reason ', s.n, ': I do not recognise this traffic'), 'client', CAST(${client} AS CHAR), DATE_ADD(${at}, INTERVAL 2 DAY), IF(${open}, 'held', 'published'), ` +
      `500000 + s.n, 700000 + s.n, 800000 + s.n, ${amount}, 'EUR', IF(${open}, 1, 3), DATE_ADD(${at}, INTERVAL 2 DAY), IF(${open}, NULL, DATE_ADD(${at}, INTERVAL 9 DAY)) FROM ${seq} WHERE s.n % 5 = 0 ORDER BY s.n`,
  );
}
