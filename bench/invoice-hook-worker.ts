/**
 * The InvoiceCreation hook's latency with 100 000 services in the database, on one engine, in a
 * process of its own. The reference panel's tables hold 50 000 clients, 100 000 VPSs and their
 * paid May renewal invoices; the module's hold the same services and their closed May periods with
 * 31 daily intervals each (bench/billing-data.ts). Then the panel's daily automation as WHMCS runs
 * it: PreCronJob (the module rates the periods that closed), then the invoice run — one at a time,
 * alternating: an InvoiceCreation delivery for a renewal invoice (the module adds one overusage
 * line through the panel's in-process API), and the baseline, a bare UpdateInvoice adding one line
 * to another renewal invoice. Then, timed apart, the fallback: deliveries whose period PreCronJob
 * did not rate (it failed or ran out of time), which rate it themselves. Prints one JSON line with
 * the latencies in ms.
 */
import { parseArgs } from 'node:util';
import type { Knex } from 'knex';
import { ManualClock } from '../module/adapters/clocks.js';
import { createLogger, silentLogger } from '../module/adapters/logger.js';
import { createModule } from '../module/index.js';
import { createPanel } from '../panel/index.js';
import { addProduct } from '../panel/records.js';
import { createTestDatabase } from '../test/support/engines.js';
import { CLIENT_OF, MAY, PRODUCT_OF, PROFILES, checkSeed, counting, seedClosedMay } from './billing-data.js';
import { percentile } from './support.js';

const args = parseArgs({
  options: {
    engine: { type: 'string', default: 'mysql' },
    services: { type: 'string', default: '100000' },
    deliveries: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '20' },
    // prints the statements of this many timed deliveries (and their bare calls) to stderr
    trace: { type: 'string', default: '0' },
    // with --trace: also the plan (EXPLAIN) of each SELECT those deliveries sent
    explain: { type: 'boolean', default: false },
    // the share of the timed deliveries whose period PreCronJob left unrated, for the delivery to
    // rate itself (0: the panel's cron order, PreCronJob rated what closed before the invoice run)
    'unrated-share': { type: 'string', default: '0' },
    // after the timed deliveries, this many more whose period is not rated (the fallback when
    // PreCronJob failed or ran out of time), timed apart, each paired with a bare UpdateInvoice too
    fallback: { type: 'string', default: '200' },
  },
}).values;

const engine = args.engine as 'sqlite' | 'mysql';
const N = Number(args.services);
const D = Number(args.deliveries);
const W = Number(args.warmup);
const TRACE = Number(args.trace);
const F = Number(args.fallback);
const UNRATED = Number(args['unrated-share']);
if (!(UNRATED >= 0 && UNRATED <= 1))
  throw new Error(`--unrated-share must be between 0 and 1, got ${args['unrated-share']}`);
const ZONE = 'Europe/Brussels';
const ACTOR = { type: 'cli', id: 'bench' } as const;
const STAMP = '2026-06-02 09:00:00';
// what a line of about the module's length costs the panel to add
const BARE_LINE =
  'Bandwidth overusage 1–31 May 2026: 6.000 TB used, 5.000 TB included, 1 000 GB × €0.50 = €500.00 (dispute by 16 June 2026) [OU-0000000000]';
const say = (s: string) => process.stderr.write(`  [invoice_hook ${engine}] ${s}\n`);
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

const db = await createTestDatabase(engine);
const { knex } = db;
try {
  // 2 June, 09:00 in Brussels: the day the panel generates the renewals due on 9 June.
  const clock = new ManualClock('2026-06-02T07:00:00Z');
  const panel = createPanel({ knex, clock, zone: ZONE, log: silentLogger });
  await panel.migrate();
  const products = [
    await addProduct(knex, { name: 'VPS 5 TB', servertype: 'solusvmpro' }, clock.now(), ZONE),
    await addProduct(knex, { name: 'VPS 4 TB', servertype: 'solusvmpro', tax: true }, clock.now(), ZONE),
    await addProduct(knex, { name: 'VPS unmetered', servertype: 'solusvmpro' }, clock.now(), ZONE),
  ];
  if (products.join() !== '1,2,3') throw new Error(`expected products 1, 2, 3; got ${products.join()}`);

  let t0 = process.hrtime.bigint();
  await seedPanel(knex, engine, N);
  const mod = createModule({
    knex,
    clock,
    secretKey: Buffer.alloc(32, 7),
    zone: ZONE,
    gatewayFor: () => {
      throw new Error('no SolusVM in this benchmark');
    },
    panel: panel.api,
    log: createLogger({ level: 'error' }),
    metering: { writer: 'inline' },
  });
  panel.addons.register(mod.addon);
  const activated = await panel.addons.activate('overusage');
  if (activated.status !== 'success') throw new Error(`activation: ${activated.description}`);
  const master = await mod.masters.add(
    {
      name: 'bench',
      version: 1,
      baseUrl: 'https://solus.example.net:5656',
      apiId: 'i',
      apiKey: 'k',
      timeZone: ZONE,
    },
    ACTOR,
  );
  await seedClosedMay(knex, engine, { services: N, masterId: master.id });
  if (engine === 'mysql')
    await knex.raw(
      'ANALYZE TABLE tblclients, tblhosting, tblinvoices, tblinvoiceitems, mod_overusage_services, mod_overusage_periods, mod_overusage_intervals, mod_overusage_samples',
    );
  else await knex.raw('ANALYZE');
  await checkSeed(knex, N);
  await mod.billing.setProduct(1, PROFILES[1], ACTOR);
  await mod.billing.setProduct(2, PROFILES[2], ACTOR);
  for (let s = 7; s <= N; s += Math.max(1, Math.floor(N / 100))) {
    if (PRODUCT_OF(s) !== 3) await mod.billing.setServiceOverride(s, { allowance: '8 TB' }, ACTOR);
  }
  for (let s = 11; s <= N; s += Math.max(1, Math.floor(N / 50))) {
    await mod.billing.setClientWindow(
      CLIENT_OF(s),
      { days: 30, counting: 'calendar', holidays: 'BE' },
      ACTOR,
    );
  }
  say(`seeded ${N} services in ${(ms(t0) / 1000).toFixed(1)} s`);
  // The panel's daily automation: PreCronJob (the module rates what closed), then the invoice run.
  t0 = process.hrtime.bigint();
  const pre = await panel.hooks.run('PreCronJob', {});
  const preCronSeconds = ms(t0) / 1000;
  if (pre.handlers.length !== 1 || pre.handlers.some((h) => h.outcome === 'error'))
    throw new Error(`PreCronJob: ${JSON.stringify(pre.handlers)}`);
  say(`PreCronJob rated what closed in ${preCronSeconds.toFixed(1)} s`);

  // Services with an overusage charge, spread over the whole id range: the first W + D get an
  // InvoiceCreation delivery, the next W + D the bare UpdateInvoice.
  const billable: number[] = (
    await knex('mod_overusage_charges')
      .where({ status: 'unbilled' })
      .orderBy('service_id')
      .select('service_id')
  ).map((r) => Number(r.service_id));
  const want = 2 * (W + D + F);
  if (billable.length < want)
    throw new Error(`only ${billable.length} services have an overusage charge; ${want} needed`);
  const stride = billable.length / want;
  const spread = Array.from({ length: want }, (_, i) => billable[Math.floor(i * stride)]!);
  // F pairs spread evenly for the fallback (pair j when the count of fallback pairs up to it grows),
  // the others for the timed deliveries
  const T = W + D + F;
  const isFallback = (i: number) =>
    Math.floor(((Math.floor(i / 2) + 1) * F) / T) > Math.floor((Math.floor(i / 2) * F) / T);
  const fallbackPicked = spread.filter((_, i) => isFallback(i));
  const picked = spread.filter((_, i) => !isFallback(i));
  const hookServices = picked.filter((_, i) => i % 2 === 0);
  const bareServices = picked.filter((_, i) => i % 2 === 1);
  const fallbackHook = fallbackPicked.filter((_, i) => i % 2 === 0);
  const fallbackBare = fallbackPicked.filter((_, i) => i % 2 === 1);
  // --unrated-share of the timed deliveries' services (none by default) are not rated: the delivery
  // rates their period itself. Spread evenly: the i-th service is unrated when the count of unrated ones up to it grows.
  const unrated = hookServices.filter((_, i) => Math.floor((i + 1) * UNRATED) > Math.floor(i * UNRATED));
  // PreCronJob rated them all: the charges of those left for the delivery go, as if it had not
  for (let i = 0; i < unrated.length + fallbackHook.length; i += 500) {
    const ids = [...unrated, ...fallbackHook].slice(i, i + 500);
    await knex('mod_overusage_charges').whereIn('service_id', ids).delete();
    // their periods are not marked rated any more (migrations/20270102000000_rated_periods.ts)
    await knex('mod_overusage_periods').whereIn('service_id', ids).update({ rated: false });
  }

  const hookInvoices = await renewalInvoices(knex, hookServices, N);
  const bareInvoices = await renewalInvoices(knex, bareServices, N + hookServices.length);
  const fallbackHookInvoices = await renewalInvoices(knex, fallbackHook, N + 2 * hookServices.length);
  const fallbackBareInvoices = await renewalInvoices(
    knex,
    fallbackBare,
    N + 2 * hookServices.length + fallbackHook.length,
  );

  const hookMs: number[] = [];
  const bareMs: number[] = [];
  const ratingMs: number[] = [];
  const unratedSet = new Set(unrated);
  // pages InnoDB had to read from disk (server-wide: other clients count too)
  const diskReads = async () =>
    engine === 'mysql'
      ? Number(
          (
            (await knex.raw("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_reads'")) as unknown as [
              [{ Value: string }],
            ]
          )[0][0].Value,
        )
      : 0;
  let reads0 = 0;
  // statements sent to the database (BEGIN and COMMIT included): a count, where wall time varies
  let statements = 0;
  let tracing = false;
  const traced: Array<{ sql: string; bindings: unknown[] }> = [];
  knex.on('query', (q: { sql: string; bindings?: unknown[] }) => {
    statements++;
    if (tracing && args.explain && /^\s*select/i.test(q.sql))
      traced.push({ sql: q.sql, bindings: q.bindings ?? [] });
    if (tracing) say(`  +${ms(t0).toFixed(2)} ms ${q.sql.replace(/\s+/g, ' ').slice(0, 300)}`);
  });
  const hookStatements: number[] = [];
  const bareStatements: number[] = [];
  const ratingStatements: number[] = [];
  // this process's CPU (user + system) during each call: the Node side of its cost, whatever the load
  const hookCpuMs: number[] = [];
  // the delivery's statements before its answer, and its CPU after the answer (its line recorded placed)
  const answeredStatements: number[] = [];
  const afterCpuMs: number[] = [];
  const bareCpuMs: number[] = [];
  const cpuMs = (c0: NodeJS.CpuUsage) => {
    const d = process.cpuUsage(c0);
    return (d.user + d.system) / 1000;
  };
  /**
   * One delivery (InvoiceCreation of `hookInvoice`), then a bare UpdateInvoice of `bareInvoice` adding
   * the same line: each one's wall time, statements and CPU. What the delivery records after its
   * answer (its line placed) ends before the bare call starts: neither call pays for the other's work.
   */
  async function deliverPair(hookInvoice: number, bareInvoice: number) {
    let s0 = statements;
    let c0 = process.cpuUsage();
    t0 = process.hrtime.bigint();
    const run = await panel.hooks.run('InvoiceCreation', {
      source: 'autogen',
      user: 'system',
      invoiceid: hookInvoice,
      status: 'Unpaid',
    });
    const hookTook = ms(t0);
    const hookAnswered = statements - s0;
    const hookCpu = cpuMs(c0);
    const c1 = process.cpuUsage();
    await mod.lines!.idle();
    const afterCpu = cpuMs(c1);
    const hookSent = statements - s0;
    const failed = run.handlers.find((h) => h.outcome === 'error');
    if (failed) throw new Error(`InvoiceCreation failed: ${JSON.stringify(failed)}`);
    if (tracing) say(`bare UpdateInvoice:`);
    s0 = statements;
    c0 = process.cpuUsage();
    t0 = process.hrtime.bigint();
    await panel.api.updateInvoice({
      invoiceId: bareInvoice,
      newItems: [{ description: BARE_LINE, amount: '500.00', taxed: true }],
    });
    const bareTook = ms(t0);
    return {
      hookMs: hookTook,
      hookAnswered,
      hookCpu,
      afterCpu,
      hookSent,
      bareMs: bareTook,
      bareSent: statements - s0,
      bareCpu: cpuMs(c0),
    };
  }
  // the seeding's garbage is collected now, not during the timed deliveries (run with --expose-gc)
  (globalThis as { gc?: () => void }).gc?.();
  for (let i = 0; i < W + D; i++) {
    if (i === W) reads0 = await diskReads();
    // a CPU profile of the timed deliveries, when a profiler preload (node --import) defines these
    if (i === W) await (globalThis as { __profStart?: () => Promise<void> }).__profStart?.();
    tracing = i >= W && i < W + TRACE;
    if (tracing)
      say(
        `delivery ${i - W} (service ${hookServices[i]}${unratedSet.has(hookServices[i]!) ? ', not rated yet' : ''}):`,
      );
    const d = await deliverPair(hookInvoices[i]!, bareInvoices[i]!);
    if (i >= W) {
      hookMs.push(d.hookMs);
      bareMs.push(d.bareMs);
      hookStatements.push(d.hookSent);
      bareStatements.push(d.bareSent);
      hookCpuMs.push(d.hookCpu);
      afterCpuMs.push(d.afterCpu);
      answeredStatements.push(d.hookAnswered);
      bareCpuMs.push(d.bareCpu);
      if (unratedSet.has(hookServices[i]!)) {
        ratingMs.push(d.hookMs);
        ratingStatements.push(d.hookSent);
      }
    }
  }
  await (globalThis as { __profStop?: () => Promise<void> }).__profStop?.();
  const readsPerDelivery = ((await diskReads()) - reads0) / D;

  // The fallback: deliveries whose period PreCronJob did not rate, each with its bare call after it.
  const fallbackMs: number[] = [];
  const fallbackBareMs: number[] = [];
  const fallbackStatements: number[] = [];
  for (let i = 0; i < fallbackHook.length; i++) {
    const d = await deliverPair(fallbackHookInvoices[i]!, fallbackBareInvoices[i]!);
    fallbackMs.push(d.hookMs);
    fallbackStatements.push(d.hookSent);
    fallbackBareMs.push(d.bareMs);
  }
  for (const q of traced) {
    const plan = (await knex.raw(
      `${engine === 'mysql' ? 'EXPLAIN' : 'EXPLAIN QUERY PLAN'} ${q.sql}`,
      q.bindings as Knex.RawBinding[],
    )) as unknown as [Array<Record<string, unknown>>];
    say(`plan of ${q.sql.replace(/\s+/g, ' ').slice(0, 160)}`);
    for (const r of engine === 'mysql' ? plan[0] : (plan as unknown as Array<Record<string, unknown>>))
      say(`    ${JSON.stringify(r)}`);
  }

  // Every delivery must have placed exactly one line, on the panel's invoice and in our table.
  const delivered = [...hookInvoices, ...fallbackHookInvoices];
  const placed: Array<{ invoice_id: unknown }> = await knex('mod_overusage_lines as l')
    .join('tblinvoiceitems as i', function () {
      this.on('i.id', '=', 'l.invoice_item_id').andOn('i.invoiceid', '=', 'l.invoice_id');
    })
    .whereIn('l.invoice_id', delivered)
    .where('l.status', 'placed')
    .select('l.invoice_id');
  const items = await knex('tblinvoiceitems').whereIn('invoiceid', delivered).count({ n: '*' }).first();
  if (
    placed.length !== delivered.length ||
    new Set(placed.map((p) => Number(p.invoice_id))).size !== delivered.length ||
    Number(items?.n) !== 2 * delivered.length
  ) {
    throw new Error(
      `expected one line on each of ${delivered.length} invoices; found ${placed.length} placed lines and ${Number(items?.n) - delivered.length} added items`,
    );
  }

  const stats = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return {
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      mean: xs.reduce((a, b) => a + b, 0) / xs.length,
      max: sorted[sorted.length - 1]!,
    };
  };
  process.stdout.write(
    JSON.stringify({
      engine,
      services: N,
      intervals: N * MAY.days,
      deliveries: D,
      warmup: W,
      rateOnDelivery: ratingMs.length,
      hook: stats(hookMs),
      hookRating: ratingMs.length ? stats(ratingMs) : null,
      bare: stats(bareMs),
      diskReadsPerDelivery: readsPerDelivery,
      // mean statements of a delivery / of a bare call (a lease's release in the background counts where it lands)
      statementsPerDelivery: hookStatements.reduce((a, b) => a + b, 0) / hookStatements.length,
      statementsPerBare: bareStatements.reduce((a, b) => a + b, 0) / bareStatements.length,
      cpuPerDelivery: stats(hookCpuMs),
      statementsBeforeAnswer: answeredStatements.reduce((a, b) => a + b, 0) / answeredStatements.length,
      cpuAfterAnswer: stats(afterCpuMs),
      cpuPerBare: stats(bareCpuMs),
      statementsPerRatingDelivery: ratingStatements.length
        ? ratingStatements.reduce((a, b) => a + b, 0) / ratingStatements.length
        : null,
      preCronSeconds,
      fallback: fallbackMs.length ? stats(fallbackMs) : null,
      fallbackBare: fallbackBareMs.length ? stats(fallbackBareMs) : null,
      statementsPerFallback: fallbackStatements.length
        ? fallbackStatements.reduce((a, b) => a + b, 0) / fallbackStatements.length
        : null,
    }) + '\n',
  );
} finally {
  await db.drop().catch(() => {});
}

/** 50 000 clients (two VPSs each, a third Dutch), 100 000 monthly VPSs due on 9 June, and each VPS's paid May renewal. */
async function seedPanel(knex: Knex, engine: 'sqlite' | 'mysql', n: number): Promise<void> {
  const clients = Math.ceil(n / 2);
  const c = counting(engine, clients);
  const s = counting(engine, n);
  const cat = (...parts: string[]) =>
    engine === 'mysql' ? `CONCAT(${parts.join(', ')})` : parts.join(' || ');
  const work = async (trx: Knex | Knex.Transaction) => {
    await trx.raw(
      `INSERT INTO tblclients (id, uuid, firstname, lastname, email, language, currency, credit, datecreated, status, created_at, updated_at) ${c.withSeq}` +
        `SELECT s.n, ${cat("'bench-'", 's.n')}, 'Client', ${cat("'No. '", 's.n')}, ${cat("'client'", 's.n', "'@example.net'")}, CASE WHEN s.n % 3 = 0 THEN 'dutch' ELSE 'english' END, 1, '0.00', '2024-01-15', 'Active', '${STAMP}', '${STAMP}' FROM ${c.from}`,
    );
    const userid = engine === 'mysql' ? 'FLOOR((s.n - 1) / 2) + 1' : '(s.n - 1) / 2 + 1';
    const product = 'CASE WHEN s.n % 10 = 0 THEN 3 ELSE (s.n % 2) + 1 END';
    await trx.raw(
      `INSERT INTO tblhosting (id, userid, packageid, regdate, domain, paymentmethod, firstpaymentamount, amount, billingcycle, nextduedate, nextinvoicedate, domainstatus, created_at, updated_at) ${s.withSeq}` +
        `SELECT s.n, ${userid}, ${product}, '2024-01-15', ${cat("'vps'", 's.n', "'.example.net'")}, 'banktransfer', '19.95', '19.95', 'Monthly', '2026-06-09', '2026-06-09', 'Active', '${STAMP}', '${STAMP}' FROM ${s.from}`,
    );
    await trx.raw(
      `INSERT INTO tblinvoices (id, userid, invoicenum, date, duedate, datepaid, subtotal, credit, tax, tax2, total, status, paymentmethod, notes, created_at, updated_at) ${s.withSeq}` +
        `SELECT s.n, ${userid}, '', '2026-05-02', '2026-05-09', '2026-05-05 10:00:00', '19.95', '0.00', '0.00', '0.00', '19.95', 'Paid', 'banktransfer', '', '2026-05-02 09:00:00', '2026-05-05 10:00:00' FROM ${s.from}`,
    );
    await trx.raw(
      `INSERT INTO tblinvoiceitems (id, invoiceid, userid, type, relid, description, amount, taxed, duedate, paymentmethod, notes) ${s.withSeq}` +
        `SELECT s.n, s.n, ${userid}, 'Hosting', s.n, ${cat("'VPS - vps'", 's.n', "'.example.net (09/05/2026 - 08/06/2026)'")}, '19.95', 0, '2026-05-09', 'banktransfer', '' FROM ${s.from}`,
    );
  };
  if (engine === 'mysql') await work(knex);
  else await knex.transaction(work);
}

/** One Unpaid renewal invoice per service, as the panel's invoice generation writes it (before its hooks run). */
async function renewalInvoices(knex: Knex, services: number[], firstId: number): Promise<number[]> {
  const ids = services.map((_, i) => firstId + 1 + i);
  await knex.batchInsert(
    'tblinvoices',
    services.map((s, i) => ({
      id: ids[i],
      userid: CLIENT_OF(s),
      invoicenum: '',
      date: '2026-06-02',
      duedate: '2026-06-09',
      subtotal: '19.95',
      total: '19.95',
      status: 'Unpaid',
      paymentmethod: 'banktransfer',
      notes: '',
      created_at: STAMP,
      updated_at: STAMP,
    })),
    200,
  );
  await knex.batchInsert(
    'tblinvoiceitems',
    services.map((s, i) => ({
      invoiceid: ids[i],
      userid: CLIENT_OF(s),
      type: 'Hosting',
      relid: s,
      description: `VPS - vps${s}.example.net (09/06/2026 - 08/07/2026)`,
      amount: '19.95',
      taxed: 0,
      duedate: '2026-06-09',
      paymentmethod: 'banktransfer',
      notes: '',
    })),
    200,
  );
  return ids;
}
