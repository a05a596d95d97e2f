import fs from 'node:fs';
import os from 'node:os';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { ManualClock } from '../module/adapters/clocks.js';
import { openDatabase, type Database } from '../module/adapters/database.js';
import type { Logger } from '../module/adapters/logger.js';
import { createSolusVmGateway } from '../module/adapters/solusvm-gateway.js';
import { addDays, type IsoDate } from '../module/domain/calendar.js';
import { createModule, type OverusageModule } from '../module/index.js';
import { createPanel, createAdmin, type Panel } from '../panel/index.js';
import { addClient, addProduct, addProductCustomField, addServer, addService } from '../panel/records.js';
import { setClientPassword } from '../panel/web/passwords.js';
import { setSetting } from '../panel/db/settings.js';
import { createSimulator, type SimMaster, type SimMasterState, type Simulator } from '../simulator/index.js';
import { demoDatabaseUrl, type AppConfig } from './config.js';

/**
 * The embedded demo behind `npm start`: the reference panel with the add-on active, a SolusVM
 * simulator, and data that tells the seed thread's story (a VPS client on a 5 TB plan who used
 * 6 TB in May 2013; others below, near and over their allowance), built by replaying the panel's
 * daily automation and the module's evening sampling from March to the demo's "now".
 */
export const DEMO_ZONE = 'Europe/Brussels';
/** The forum thread's first post: 4 June 2013, 17:28 in Brussels. */
export const DEMO_NOW = '2013-06-04T15:28:00Z';
const HISTORY_FROM: IsoDate = '2013-03-01';
const SEEDED_KEY = 'OverusageDemoSeeded';
/** the masters the demo made (ids), the only ones whose URL it moves to its simulator at each start */
const MASTERS_KEY = 'OverusageDemoMasters';
/** the running demo server (process, host, URL), so `panel cron --demo` does not change its data under it */
const SERVER_KEY = 'OverusageDemoServer';
/** where the demo's clock stands, so `panel cron --demo` moves it for the next start too */
const NOW_KEY = 'OverusageDemoNow';
/**
 * What the simulated SolusVM masters were told (a throttle or suspension by the limit policy, a
 * speed, a plan): kept after every change, given back at the next start, so a restart or a
 * `panel cron --demo` finds the servers as the module left them.
 */
const SIM_KEY = 'OverusageDemoSimulator';

const GB = 10n ** 9n;
const TB = 10n ** 12n;
const GiB = 1024n ** 3n;

export interface DemoLogin {
  who: string;
  login: string;
  password: string;
  story: string;
}

export interface Demo {
  db: Database;
  clock: ManualClock;
  panel: Panel;
  module: OverusageModule;
  sim: Simulator;
  logins: DemoLogin[];
  seededNow: boolean;
  /** writes the simulator's state now (it is also written after each change and at close) */
  saveSimulator(): Promise<void>;
  close(): Promise<void>;
}

/** Bytes per day over a month so that the counter at 23:50 on the last day reads exactly `total`. */
function monthEndingAt(
  year: number,
  month: number,
  total: bigint,
  lastDayBytes: bigint,
): Record<string, bigint> {
  const days = DateTime.fromObject({ year, month, day: 1 }, { zone: 'utc' }).daysInMonth!;
  // a day accrues linearly, so by 23:50 the last day has moved 1430/1440 of its bytes
  const lastPart = (lastDayBytes * 1430n) / 1440n;
  const rest = total - lastPart;
  const base = rest / BigInt(days - 1);
  let left = rest - base * BigInt(days - 1);
  const out: Record<string, bigint> = {};
  for (let d = 1; d < days; d++) {
    const extra = left > 0n ? 1n : 0n;
    left -= extra;
    out[DateTime.fromObject({ year, month, day: d }, { zone: 'utc' }).toISODate()!] = base + extra;
  }
  out[DateTime.fromObject({ year, month, day: days }, { zone: 'utc' }).toISODate()!] = lastDayBytes;
  return out;
}

interface DemoClient {
  first: string;
  last: string;
  email: string;
  language: 'english' | 'dutch';
  product: string;
  vserver: number;
  master: 'v1' | 'v2';
  amount: string;
  regdate: IsoDate;
  nextduedate: IsoDate;
  story: string;
  /** bytes per day by date, with a default for other days */
  traffic: { byDate: Record<string, bigint>; perDay: bigint };
  /** the client pays invoices this many days after they are issued; null: never (the open dispute) */
  paysAfterDays: number | null;
  /** an admin reset the counter by hand on the master at these local times (a drop to decide) */
  manualResets?: string[];
}

const CLIENTS: DemoClient[] = [
  {
    first: 'Pieter',
    last: 'Timmermans',
    email: 'pieter@example.be',
    language: 'dutch',
    product: 'VPS 5 TB',
    vserver: 101,
    master: 'v1',
    amount: '49.95',
    regdate: '2012-11-10',
    nextduedate: '2013-03-10',
    story:
      'the seed thread: a 5 TB plan, 6 TB used in May; the renewal invoice of 3 June carries the overusage',
    traffic: { byDate: { ...monthEndingAt(2013, 5, 6n * TB, 144n * GB) }, perDay: 150n * GB },
    paysAfterDays: 3,
  },
  {
    first: 'Anna',
    last: 'Smith',
    email: 'anna@example.net',
    language: 'english',
    product: 'VPS 2 TB',
    vserver: 102,
    master: 'v1',
    amount: '24.95',
    regdate: '2012-12-15',
    nextduedate: '2013-03-15',
    story:
      'well below her allowance (about 40 %); her counter was reset by hand on 15 May, a drop for the admin to decide',
    traffic: { byDate: {}, perDay: 27n * GB },
    paysAfterDays: 1,
    manualResets: ['2013-05-15T14:00'],
  },
  {
    first: 'Bert',
    last: 'De Smet',
    email: 'bert@example.be',
    language: 'dutch',
    product: 'VPS 1 TB',
    vserver: 103,
    master: 'v1',
    amount: '14.95',
    regdate: '2013-01-20',
    nextduedate: '2013-03-20',
    story: 'close to his allowance every month (about 92 %)',
    traffic: { byDate: {}, perDay: 30n * GB },
    paysAfterDays: 5,
  },
  {
    first: 'Chris',
    last: 'Jones',
    email: 'chris@example.net',
    language: 'english',
    product: 'VPS 500 GB',
    vserver: 104,
    master: 'v1',
    amount: '9.95',
    regdate: '2012-10-05',
    nextduedate: '2013-03-05',
    story: 'over his allowance three months in a row: an upgrade is suggested',
    traffic: { byDate: {}, perDay: 21n * GB },
    paysAfterDays: 2,
  },
  {
    first: 'Dana',
    last: 'Peeters',
    email: 'dana@example.be',
    language: 'dutch',
    product: 'VPS 1 TiB (SolusVM 2)',
    vserver: 201,
    master: 'v2',
    amount: '19.95',
    regdate: '2013-02-12',
    nextduedate: '2013-03-12',
    story: 'on SolusVM 2, a little over in May',
    traffic: { byDate: { ...monthEndingAt(2013, 5, 1100n * GiB, 40n * GiB) }, perDay: 30n * GiB },
    paysAfterDays: 4,
  },
];

const PRODUCTS: Record<string, { allowance: string; unit: 'GB' | 'GiB'; rate: string; precommit: string }> = {
  'VPS 5 TB': { allowance: '5 TB', unit: 'GB', rate: '0.50', precommit: '0.35' },
  'VPS 2 TB': { allowance: '2 TB', unit: 'GB', rate: '0.50', precommit: '0.35' },
  'VPS 1 TB': { allowance: '1 TB', unit: 'GB', rate: '0.60', precommit: '0.40' },
  'VPS 500 GB': { allowance: '500 GB', unit: 'GB', rate: '0.80', precommit: '0.50' },
  'VPS 1 TiB (SolusVM 2)': { allowance: '1 TiB', unit: 'GiB', rate: '0.45', precommit: '0.30' },
};

export const DEMO_ADMIN = { username: 'admin', password: 'demo-admin' };
const CLIENT_PASSWORD = 'demo';

/**
 * The log as the demo's panel and module see it: while the history is replayed (96 days of
 * automation at the first start) only warnings and errors pass, so a start says what matters.
 */
function gatedLog(log: Logger, quiet: { on: boolean }): Logger {
  return {
    log: (level, event, fields) => {
      if (!quiet.on || level === 'warn' || level === 'error') log.log(level, event, fields);
    },
    info: (event, fields) => {
      if (!quiet.on) log.info(event, fields);
    },
    warn: (event, fields) => log.warn(event, fields),
    error: (event, fields) => log.error(event, fields),
    child: (fields) => gatedLog(log.child(fields), quiet),
  };
}

export async function startDemoData(
  config: AppConfig,
  outerLog: Logger,
  opts: { databaseUrl?: string; now?: string } = {},
): Promise<Demo> {
  const quiet = { on: false };
  const log = gatedLog(outerLog, quiet);
  const databaseUrl = opts.databaseUrl ?? process.env.OVERUSAGE_DB ?? demoDatabaseUrl(config.dataDir);
  const db = openDatabase(databaseUrl);
  const clock = new ManualClock(opts.now ?? DEMO_NOW);
  const sim = createSimulator({ now: () => clock.nowMs() });
  const masters: Record<'v1' | 'v2', SimMaster> = {
    v1: sim.addMaster({
      name: 'demo-solusvm-1',
      version: 1,
      zone: DEMO_ZONE,
      resetPolicy: 'first_of_month',
      credentials: { apiId: 'demo-id', apiKey: 'demo-key' },
    }),
    v2: sim.addMaster({
      name: 'demo-solusvm-2',
      version: 2,
      zone: DEMO_ZONE,
      resetPolicy: 'first_of_month',
      credentials: { token: 'demo-token' },
    }),
  };
  for (const c of CLIENTS) {
    masters[c.master].addServer({
      id: c.vserver,
      hostname: `vps${c.vserver}.example.net`,
      node: { id: 1, name: 'node-1' },
      clientId: c.vserver,
      type: 'kvm',
      limitBytes: 0n,
      createdAt: `${c.regdate}T10:00:00Z`,
      profile: { kind: 'days', byDate: c.traffic.byDate, defaultBytesPerDay: c.traffic.perDay },
    });
    for (const at of c.manualResets ?? [])
      masters[c.master].resetCounter(c.vserver, DateTime.fromISO(at, { zone: DEMO_ZONE }).toMillis());
  }
  await masters.v1.listen();
  await masters.v2.listen();

  const panel = createPanel({ knex: db.knex, clock, zone: DEMO_ZONE, log });
  await panel.migrate();
  const module = createModule({
    knex: db.knex,
    clock,
    secretKey: config.secretKey,
    zone: DEMO_ZONE,
    gatewayFor: (s) => createSolusVmGateway(s),
    panel: panel.api,
    log,
    metering: { writer: 'inline' },
  });
  panel.addons.register(module.addon);
  await panel.addons.boot();

  const seeded =
    (await db.knex('tblconfiguration').where({ setting: SEEDED_KEY }).first('value'))?.value === '1';
  if (!seeded) {
    quiet.on = true;
    try {
      await seed(db.knex, panel, module, clock, masters, outerLog);
    } finally {
      quiet.on = false;
    }
  } else {
    // The simulator listens on new ports at every start: the demo's own masters follow it; a master
    // an operator added (the admin tab, the CLI) is never touched.
    const recorded = (await db.knex('tblconfiguration').where({ setting: MASTERS_KEY }).first('value'))
      ?.value as string | undefined;
    const ours = recorded === undefined ? null : new Set(recorded.split(',').filter(Boolean).map(Number));
    for (const m of await module.masters.list()) {
      const sm = m.name === 'demo-solusvm-2' ? masters.v2 : m.name === 'demo-solusvm-1' ? masters.v1 : null;
      // a database seeded before the ids were recorded: the demo's masters by their names
      if (!sm || (ours !== null && !ours.has(m.id))) continue;
      if (m.baseUrl !== sm.url)
        await module.masters.update(m.id, { baseUrl: sm.url }, { type: 'system', id: 'demo' });
    }
  }
  if (seeded) await restoreSimulator(db.knex, masters, outerLog);
  const stored = (await db.knex('tblconfiguration').where({ setting: NOW_KEY }).first('value'))?.value as
    string | undefined;
  clock.set(opts.now ?? stored ?? DEMO_NOW);
  // one write at a time, in order; a failed write is said, and the next change writes again
  let saving: Promise<void> = Promise.resolve();
  const saveSimulator = () =>
    (saving = saving
      .then(() =>
        setSetting(
          db.knex,
          SIM_KEY,
          JSON.stringify({ v1: masters.v1.exportState(), v2: masters.v2.exportState() }),
          clock.now(),
          DEMO_ZONE,
        ),
      )
      .catch((err: unknown) =>
        outerLog.warn('demo.simulator_not_saved', { message: (err as Error).message }),
      ));
  if (!seeded) await saveSimulator();
  for (const m of Object.values(masters)) m.onChange(() => void saveSimulator());
  return {
    db,
    clock,
    panel,
    module,
    sim,
    seededNow: !seeded,
    logins: [
      {
        who: 'admin',
        login: DEMO_ADMIN.username,
        password: DEMO_ADMIN.password,
        story: 'the provider: clients, invoices, the email log and the Overusage tab',
      },
      ...CLIENTS.map((c) => ({
        who: `${c.first} ${c.last}`,
        login: c.email,
        password: CLIENT_PASSWORD,
        story: c.story,
      })),
    ],
    saveSimulator,
    async close() {
      await module.close();
      for (const m of Object.values(masters)) m.onChange(null);
      await saveSimulator();
      await sim.close();
      await db.close();
    },
  };
}

/** The simulator's state as the demo last saved it; a server the demo no longer has is said and skipped. */
async function restoreSimulator(
  knex: Knex,
  masters: Record<'v1' | 'v2', SimMaster>,
  log: Logger,
): Promise<void> {
  const raw = (await knex('tblconfiguration').where({ setting: SIM_KEY }).first('value'))?.value as
    string | undefined;
  if (!raw) return;
  let saved: Partial<Record<'v1' | 'v2', SimMasterState>>;
  try {
    saved = JSON.parse(raw) as Partial<Record<'v1' | 'v2', SimMasterState>>;
  } catch (err) {
    log.warn('demo.simulator_state_unreadable', { message: (err as Error).message });
    return;
  }
  for (const k of ['v1', 'v2'] as const) {
    const state = saved[k];
    if (!state) continue;
    const { missing } = masters[k].importState(state);
    if (missing.length)
      log.warn('demo.simulator_servers_gone', { master: masters[k].name, servers: missing });
  }
}

/**
 * Moves the demo forward day by day: each day the panel's morning automation and the module's
 * evening sampling, as in the seeded history. The clock stays at the end, for the next start too.
 */
export interface DemoDay {
  date: IsoDate;
  /** the panel's automation had run this day before: nothing of it was done again */
  alreadyRan: boolean;
  /** what this run did (0 when it had already run) */
  invoices: number;
  notices: number;
  suspensions: number;
  /** services read by this run's evening sampling (0: already read that day) */
  sampled: number;
}

export async function advanceDemo(demo: Demo, from: IsoDate, to: IsoDate): Promise<DemoDay[]> {
  const out = await runPanelDays(
    { knex: demo.db.knex, clock: demo.clock, panel: demo.panel, zone: DEMO_ZONE },
    from,
    to,
  );
  await setSetting(demo.db.knex, NOW_KEY, demo.clock.now().toISO()!, demo.clock.now(), DEMO_ZONE);
  await demo.saveSimulator();
  return out;
}

/**
 * The panel's days, one after the other: its morning automation at 09:00 and the add-on's
 * evening sampling at 23:50 (panel time), and what each run did this time.
 */
export async function runPanelDays(
  h: { knex: Knex; clock: ManualClock; panel: Panel; zone: string },
  from: IsoDate,
  to: IsoDate,
): Promise<DemoDay[]> {
  const out: DemoDay[] = [];
  const samplesOn = async (day: IsoDate) =>
    Number(
      (await h.knex('mod_overusage_samples').where({ sample_date: day }).count({ n: '*' }).first())?.n ?? 0,
    );
  for (let day = from; day <= to; day = addDays(day, 1)) {
    h.clock.set(DateTime.fromISO(`${day}T09:00:00`, { zone: h.zone }));
    const r = await h.panel.runDailyAutomation(day);
    h.clock.set(DateTime.fromISO(`${day}T23:50:00`, { zone: h.zone }));
    const before = await samplesOn(day);
    await h.panel.hooks.run('AfterCronJob', {});
    const sampled = (await samplesOn(day)) - before;
    // a day run before answers with its old summary: this run did none of it
    if (r.alreadyRan)
      out.push({ date: day, alreadyRan: true, invoices: 0, notices: 0, suspensions: 0, sampled });
    else
      out.push({
        date: day,
        alreadyRan: false,
        invoices: r.invoicesCreated.length,
        notices: r.notices.length,
        suspensions: r.suspensions.filter((x) => x.outcome === 'suspended').length,
        sampled,
      });
  }
  return out;
}

const counted = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** One line per day of `panel cron --demo`: what this run did. */
export function describeDemoDay(d: DemoDay): string {
  const sampled =
    d.sampled > 0 ? `${counted(d.sampled, 'service')} sampled` : 'no new samples (already read that evening)';
  if (d.alreadyRan)
    return `${d.date}: the panel's automation had already run this day, nothing done again; ${sampled}`;
  return `${d.date}: ${counted(d.invoices, 'invoice')} created, ${counted(d.notices, 'notice')}, ${counted(d.suspensions, 'suspension')}; ${sampled}`;
}

async function seed(
  knex: Knex,
  panel: Panel,
  module: OverusageModule,
  clock: ManualClock,
  masters: Record<'v1' | 'v2', SimMaster>,
  log: Logger,
): Promise<void> {
  const started = Date.now();
  clock.set(`${HISTORY_FROM}T07:00:00Z`);
  const now = clock.now();
  const setting = (k: string, v: string) => setSetting(knex, k, v, clock.now(), DEMO_ZONE);
  for (const [k, v] of Object.entries({
    CreateInvoiceDaysBefore: '7',
    SendInvoiceReminderDays: '3',
    SendFirstOverdueInvoiceReminder: '1',
    SendSecondOverdueInvoiceReminder: '5',
    SendThirdOverdueInvoiceReminder: '10',
    AddLateFeeDays: '0',
    AutoSuspension: 'on',
    AutoSuspensionDays: '14',
    CompanyName: 'Demo Hosting BV',
  })) {
    await setting(k, v);
  }
  await createAdmin(
    knex,
    {
      username: DEMO_ADMIN.username,
      password: DEMO_ADMIN.password,
      email: 'admin@demo-hosting.example',
      firstname: 'Demo',
      lastname: 'Admin',
    },
    now,
    DEMO_ZONE,
  );
  await panel.addons.activate('overusage');
  const actor = { type: 'system' as const, id: 'demo' };
  // the panel's server entries the services run on, mapped to the masters, as a provider sets them
  // up: the morning sync then finds every demo service linked (no warnings of the demo's making)
  const servers = {
    v1: await addServer(knex, { name: 'demo-solusvm-1', type: 'solusvmpro', hostname: '127.0.0.1' }),
    v2: await addServer(knex, { name: 'demo-solusvm-2', type: 'solusvmpro', hostname: '127.0.0.1' }),
  };
  const mv1 = await module.masters.add(
    {
      name: 'demo-solusvm-1',
      version: 1,
      baseUrl: masters.v1.url,
      apiId: 'demo-id',
      apiKey: 'demo-key',
      timeZone: DEMO_ZONE,
      concurrency: 4,
      retries: 0,
      panelServerId: servers.v1,
    },
    actor,
  );
  const mv2 = await module.masters.add(
    {
      name: 'demo-solusvm-2',
      version: 2,
      baseUrl: masters.v2.url,
      token: 'demo-token',
      timeZone: DEMO_ZONE,
      concurrency: 4,
      retries: 0,
      panelServerId: servers.v2,
    },
    actor,
  );
  await setting(MASTERS_KEY, `${mv1.id},${mv2.id}`);

  const productIds = new Map<string, number>();
  for (const [name, p] of Object.entries(PRODUCTS)) {
    const id = await addProduct(knex, { name, servertype: 'solusvmpro', tax: true }, now, DEMO_ZONE);
    await addProductCustomField(knex, id, 'vserverid', { adminonly: true });
    productIds.set(name, id);
    // clients may choose their own monthly cap on overusage (throttle to 10 Mbit/s or suspend)
    await module.billing.setProduct(
      id,
      {
        unit: p.unit,
        model: 'per_unit',
        allowance: p.allowance,
        prices: { EUR: { overage: p.rate, precommit: p.precommit } },
        window: { days: 14, counting: 'calendar', holidays: 'BE' },
        clientCaps: { actions: ['throttle', 'suspend'], throttleMbps: 10 },
      },
      actor,
    );
  }
  const fields = new Map(
    (await knex('tblcustomfields').select('id', 'relid')).map((r) => [Number(r.relid), Number(r.id)]),
  );
  const payers: Array<{ clientId: number; after: number | null }> = [];
  for (const c of CLIENTS) {
    const clientId = await addClient(
      knex,
      {
        firstname: c.first,
        lastname: c.last,
        email: c.email,
        language: c.language,
        country: c.email.endsWith('.be') ? 'BE' : 'GB',
      },
      now,
      DEMO_ZONE,
    );
    await setClientPassword(knex, clientId, CLIENT_PASSWORD, now, DEMO_ZONE);
    const productId = productIds.get(c.product)!;
    const serviceId = await addService(
      knex,
      {
        userid: clientId,
        packageid: productId,
        server: servers[c.master],
        domain: `vps${c.vserver}.example.net`,
        regdate: c.regdate,
        nextduedate: c.nextduedate,
        amount: c.amount,
        customfields: { [fields.get(productId)!]: String(c.vserver) },
      },
      now,
      DEMO_ZONE,
    );
    // the server's IP as the simulator gives it (10.0.0.<id>), so the admin tab finds it by IP too
    await knex('tblhosting')
      .where({ id: serviceId })
      .update({ dedicatedip: masters[c.master].server(c.vserver)!.ip });
    await module.links.link(
      {
        serviceId,
        clientId,
        productId,
        masterId: c.master === 'v1' ? mv1.id : mv2.id,
        serverRef: String(c.vserver),
        regdate: c.regdate,
      },
      actor,
    );
    payers.push({ clientId, after: c.paysAfterDays });
  }

  // Replay the days: the panel's morning automation (invoices, reminders, DailyCronJob), the
  // clients' payments, and the module's evening sampling on the 5-minute cron.
  const end = DateTime.fromISO(DEMO_NOW).setZone(DEMO_ZONE).toISODate()!;
  for (let day = HISTORY_FROM; day <= end; day = addDays(day, 1)) {
    clock.set(DateTime.fromISO(`${day}T09:00:00`, { zone: DEMO_ZONE }));
    await panel.runDailyAutomation(day);
    for (const p of payers) {
      if (p.after === null) continue;
      const { invoices } = await panel.api.getInvoices({
        userId: p.clientId,
        status: 'Unpaid',
        limitNum: 50,
      });
      for (const inv of invoices) {
        // Pieter pays the hosting renewals, but the June invoice carries the overusage he disputes.
        if (
          inv.date &&
          addDays(inv.date, p.after) <= day &&
          !(day >= '2013-06-01' && p.clientId === payers[0]!.clientId)
        ) {
          await panel.api.addInvoicePayment({
            invoiceId: inv.id,
            transId: `demo-${inv.id}`,
            gateway: 'banktransfer',
            date: `${day} 10:00:00`,
          });
        }
      }
    }
    clock.set(DateTime.fromISO(`${day}T23:50:00`, { zone: DEMO_ZONE }));
    if (clock.now() <= DateTime.fromISO(DEMO_NOW)) await panel.hooks.run('AfterCronJob', {});
  }
  await setting(SEEDED_KEY, '1');
  log.info('demo.seeded', { days: HISTORY_FROM + '..' + end, ms: Date.now() - started });
}

export interface DemoServerRecord {
  pid: number;
  host: string;
  url: string;
  startedAt: string;
}

/** Records the running demo server in its database; `panel cron --demo` asks before it runs. */
export async function recordDemoServer(demo: Demo, url: string): Promise<void> {
  const rec: DemoServerRecord = {
    pid: process.pid,
    host: os.hostname(),
    url,
    startedAt: new Date().toISOString(),
  };
  await setSetting(demo.db.knex, SERVER_KEY, JSON.stringify(rec), demo.clock.now(), DEMO_ZONE);
}

export async function clearDemoServer(demo: Demo): Promise<void> {
  await demo.db.knex('tblconfiguration').where({ setting: SERVER_KEY }).del();
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * What `panel cron --demo` must know before it touches the demo's database: a demo server that
 * runs on it (on this host, its process alive: a record a killed server left is ignored), and where
 * the demo's clock stands. Read without starting the demo, which would move its masters.
 */
export async function demoState(
  databaseUrl: string,
): Promise<{ server: DemoServerRecord | null; now: string | null }> {
  // asking must not create an SQLite file that is not there
  if (
    databaseUrl.startsWith('sqlite:') &&
    databaseUrl !== 'sqlite::memory:' &&
    !fs.existsSync(databaseUrl.slice('sqlite:'.length))
  )
    return { server: null, now: null };
  const db = openDatabase(databaseUrl);
  try {
    if (!(await db.knex.schema.hasTable('tblconfiguration'))) return { server: null, now: null };
    const rows = await db
      .knex('tblconfiguration')
      .whereIn('setting', [SERVER_KEY, NOW_KEY])
      .select('setting', 'value');
    const get = (k: string) => rows.find((r) => r.setting === k)?.value as string | undefined;
    let server: DemoServerRecord | null = null;
    const raw = get(SERVER_KEY);
    if (raw) {
      try {
        const rec = JSON.parse(raw) as DemoServerRecord;
        if (
          rec.host === os.hostname() &&
          Number.isInteger(rec.pid) &&
          rec.pid !== process.pid &&
          alive(rec.pid)
        )
          server = rec;
      } catch {
        server = null;
      }
    }
    return { server, now: get(NOW_KEY) ?? null };
  } finally {
    await db.close();
  }
}
