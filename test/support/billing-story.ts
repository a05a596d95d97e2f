import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { ManualClock } from '../../module/adapters/clocks.js';
import { engineOf } from '../../module/adapters/database.js';
import { toNum } from '../../module/adapters/rows.js';
import { silentLogger, type Logger } from '../../module/adapters/logger.js';
import type { PanelApi } from '../../module/adapters/panel-api.js';
import { createModule, type OverusageModule } from '../../module/index.js';
import { createPanel } from '../../panel/index.js';
import { buildPanel, seedStory, ZONE, type PanelFixture, type Story } from '../panel/support.js';
import { FakeMaster } from './fake-gateway.js';
import { CLI_ACTOR, TEST_SECRET_KEY } from './module-fixture.js';
import { setSetting } from '../../panel/db/settings.js';
import { registerModule } from './register-module.js';
import { addDays } from '../../module/domain/calendar.js';

export const TB = 10n ** 12n;
export const GB = 10n ** 9n;

/** A PanelApi that can be told to fail at a chosen call, before or after the call takes effect. */
export class FaultyPanel {
  failNext: { method: string; when: 'before' | 'after'; times: number } | null = null;
  calls: string[] = [];
  constructor(readonly real: PanelApi) {}

  api(): PanelApi {
    const self = this;
    return new Proxy(this.real, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          const name = String(prop);
          self.calls.push(name);
          const f = self.failNext;
          const hit = f && f.method === name && f.times > 0;
          if (hit && f.when === 'before') {
            f.times--;
            throw new Error(`injected failure before ${name}`);
          }
          const result = await (value as (...a: unknown[]) => unknown).apply(target, args);
          if (hit && f.when === 'after') {
            f.times--;
            throw new Error(`injected failure after ${name} took effect`);
          }
          return result;
        };
      },
    });
  }
}

export interface BillingStory {
  f: PanelFixture;
  story: Story;
  mod: OverusageModule;
  faulty: FaultyPanel;
  fake: FakeMaster;
  masterId: number;
}

/** What the story's (English) client pays in: the currency, the VPS's monthly price, the rates. */
export interface StoryMoney {
  code: string;
  /** the hosting price as the panel keeps it (two decimals, as WHMCS does for every currency) */
  hosting: string;
  /** per GB over the allowance, and the rate agreed in advance */
  overage: string;
  precommit: string;
}

export const STORY_EUR: StoryMoney = { code: 'EUR', hosting: '19.95', overage: '0.50', precommit: '0.35' };
/** the same plan in yen: 1 000 GB × ¥80 = ¥80,000 beside ¥2,980 hosting */
export const STORY_JPY: StoryMoney = { code: 'JPY', hosting: '2980.00', overage: '80', precommit: '60' };

/** The panel's currencies beyond its seeded EUR (1) and USD (2), as WHMCS rows. */
const MORE_CURRENCIES: Record<string, { id: number; prefix: string; suffix: string; format: number }> = {
  JPY: { id: 3, prefix: '¥', suffix: ' JPY', format: 4 },
  BHD: { id: 4, prefix: 'BD ', suffix: ' BHD', format: 1 },
};

/**
 * The seed thread as data: a VPS on a 5 TB plan (€0.50 per GB over, €0.35 agreed in advance),
 * renewing on the 9th, whose counter reached 6 TB in May 2013; the panel invoices 7 days ahead.
 * With `money`, the English client pays in that currency at those prices instead; with `log`, the
 * module logs there (silent by default).
 */
export async function buildBillingStory(
  knex: Knex,
  money: StoryMoney = STORY_EUR,
  opts: { log?: Logger } = {},
): Promise<BillingStory> {
  const key = JSON.stringify(money);
  const sqlite = engineOf(knex) === 'sqlite';
  const snap = sqlite ? SNAPSHOTS.get(key) : undefined;
  if (snap) return restoreStory(knex, snap, opts);
  const f = await buildPanel(knex, {
    start: STORY_START,
    settings: { CreateInvoiceDaysBefore: '7' },
  });
  const story = await seedStory(f, { regdate: '2013-01-09', nextduedate: '2013-06-09' });
  if (money.code !== 'EUR') {
    const extra = MORE_CURRENCIES[money.code];
    if (extra)
      await knex('tblcurrencies').insert({
        id: extra.id,
        code: money.code,
        prefix: extra.prefix,
        suffix: extra.suffix,
        format: extra.format,
        rate: '1.00000',
        default: 0,
      });
    const currency = await knex('tblcurrencies').where({ code: money.code }).first('id');
    await knex('tblclients').where({ id: story.clientId }).update({ currency: currency.id });
    await knex('tblhosting')
      .where({ id: story.serviceId })
      .update({ amount: money.hosting, firstpaymentamount: money.hosting });
  }
  const fake = new FakeMaster();
  const faulty = new FaultyPanel(f.panel.api);
  const mod = storyModule(knex, f.clock, fake, faulty, opts);
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
  for (const [serviceId, clientId, ref] of [
    [story.serviceId, story.clientId, '101'],
    [story.dutchServiceId, story.dutchClientId, '102'],
  ] as const) {
    const currency = serviceId === story.serviceId ? money.code : 'EUR';
    await mod.links.link(
      { serviceId, clientId, productId: story.productId, masterId: master.id, serverRef: ref, currency },
      CLI_ACTOR,
    );
  }
  const prices = {
    EUR: { overage: STORY_EUR.overage, precommit: STORY_EUR.precommit },
    [money.code]: { overage: money.overage, precommit: money.precommit },
  };
  await mod.billing.setProduct(
    story.productId,
    {
      unit: 'GB',
      model: 'per_unit',
      allowance: '5 TB',
      prices,
      window: { days: 14, counting: 'calendar', holidays: 'BE' },
    },
    CLI_ACTOR,
  );
  if (sqlite) SNAPSHOTS.set(key, await snapshot(knex, story, master.id));
  return { f, story, mod, faulty, fake, masterId: master.id };
}

const STORY_START = '2013-04-30T08:00:00Z';

function storyModule(
  knex: Knex,
  clock: ManualClock,
  fake: FakeMaster,
  faulty: FaultyPanel,
  opts: { log?: Logger },
): OverusageModule {
  return createModule({
    knex,
    clock,
    secretKey: TEST_SECRET_KEY,
    zone: 'Europe/Brussels',
    gatewayFor: () => fake.gateway(),
    panel: faulty.api(),
    log: opts.log ?? silentLogger,
    metering: { writer: 'inline' },
  });
}

/**
 * Building the story (the panel's and the module's schemas made anew, the clients, the master,
 * the links, the product) is most of a dispute test's time (~1.7 of ~3 s), paid again for every
 * mutant a dispute test reaches. On SQLite the first story of each currency in a process is kept as
 * a copy of its database, and every later one is that copy restored into the test's database (the
 * same rows, ids included) with a new panel, module and clock over it: the same story, built once.
 */
interface StorySnapshot {
  file: string;
  story: Story;
  masterId: number;
}
const SNAPSHOTS = new Map<string, StorySnapshot>();
const rowsOf = (r: unknown) => r as Array<Record<string, unknown>>;

async function snapshot(knex: Knex, story: Story, masterId: number): Promise<StorySnapshot> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-story-'));
  const file = path.join(dir, 'story.sqlite');
  await knex.raw('VACUUM INTO ?', [file]);
  return { file, story: { ...story }, masterId };
}

async function restoreStory(knex: Knex, snap: StorySnapshot, opts: { log?: Logger }): Promise<BillingStory> {
  await knex.raw('PRAGMA foreign_keys = OFF');
  const mine = rowsOf(
    await knex.raw(
      "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'",
    ),
  );
  for (const t of mine)
    await knex.raw(`DROP ${t.type === 'view' ? 'VIEW' : 'TABLE'} IF EXISTS "${String(t.name)}"`);
  await knex.raw('ATTACH DATABASE ? AS snap', [snap.file]);
  try {
    const objects = rowsOf(
      await knex.raw(
        "SELECT type, name, sql FROM snap.sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY CASE type WHEN 'table' THEN 0 ELSE 1 END",
      ),
    );
    for (const o of objects) {
      await knex.raw(String(o.sql));
      if (o.type === 'table')
        await knex.raw(`INSERT INTO main."${String(o.name)}" SELECT * FROM snap."${String(o.name)}"`);
    }
    const seq = rowsOf(await knex.raw("SELECT name FROM snap.sqlite_master WHERE name = 'sqlite_sequence'"));
    if (seq.length) {
      await knex.raw('DELETE FROM main.sqlite_sequence');
      await knex.raw('INSERT INTO main.sqlite_sequence SELECT * FROM snap.sqlite_sequence');
    }
  } finally {
    await knex.raw('DETACH DATABASE snap');
    await knex.raw('PRAGMA foreign_keys = ON');
  }
  const clock = new ManualClock(STORY_START);
  const panel = createPanel({ knex, clock, zone: ZONE, log: silentLogger });
  const f: PanelFixture = {
    panel,
    clock,
    knex,
    setting: (k, v) => setSetting(knex, k, v, clock.now(), ZONE),
  };
  const fake = new FakeMaster();
  const faulty = new FaultyPanel(panel.api);
  const mod = storyModule(knex, clock, fake, faulty, opts);
  registerModule(panel, mod);
  // the module is active in the copied rows: boot registers its hooks, as a panel starting does
  await panel.addons.boot();
  return { f, story: { ...snap.story }, mod, faulty, fake, masterId: snap.masterId };
}

/** Samples May's last days and the reset on 1 June: the May period closes at 6 TB (the Dutch VPS at 4 TB). */
export async function closeMay(s: BillingStory): Promise<void> {
  const days: Array<[string, bigint, bigint]> = [
    ['2013-05-30T21:50:00Z', 5900n * GB, 3900n * GB],
    ['2013-05-31T21:50:00Z', 6000n * GB, 4000n * GB],
    ['2013-06-01T21:50:00Z', 150n * GB, 90n * GB],
  ];
  for (const [at, a, b] of days) {
    s.f.clock.set(at);
    s.fake.set('101', a);
    s.fake.set('102', b);
    await s.mod.metering.collect();
  }
}

/** Ann's latest renewal invoice: the one with her VPS's hosting item of the highest id. */
export async function renewalOf(s: BillingStory, knex: Knex): Promise<number> {
  const row = await knex('tblinvoiceitems')
    .where({ type: 'Hosting', relid: s.story.serviceId })
    .orderBy('id', 'desc')
    .first('invoiceid');
  return toNum(row.invoiceid);
}

/** The 2 June renewal run, whose every read of an invoice by the module fails: no line, no delivery recorded. */
export async function undelivered(s: BillingStory, knex: Knex): Promise<number> {
  s.faulty.failNext = { method: 'getInvoice', when: 'before', times: 99 };
  s.f.clock.set('2013-06-02T07:00:00Z');
  await s.f.panel.runDailyAutomation('2013-06-02');
  s.faulty.failNext = null;
  expect(await knex('mod_overusage_lines')).to.have.length(0);
  return renewalOf(s, knex);
}

/** Ann's May on the 2 June renewal (1,000 GB over at €0.50 = €500.00), her language set first: the story, the renewal and its line. */
/**
 * The story up to the renewal of 2 June with May's line on it, for a client reading `language`
 * (the story's English when left out) and paying in `money` (EUR when left out).
 */
export async function billMay(
  knex: Knex,
  language?: string,
  money: StoryMoney = STORY_EUR,
  opts: { log?: Logger } = {},
): Promise<{ s: BillingStory; renewal: number; lineId: number; ref: string }> {
  const s = await buildBillingStory(knex, money, opts);
  if (language) await knex('tblclients').where({ id: s.story.clientId }).update({ language });
  await closeMay(s);
  s.f.clock.set('2013-06-02T07:00:00Z');
  await s.f.panel.runDailyAutomation('2013-06-02');
  const line = await knex('mod_overusage_lines').where({ service_id: s.story.serviceId }).first();
  return { s, renewal: Number(line.invoice_id), lineId: Number(line.id), ref: String(line.ref_code) };
}

/** Ann disputes the line on 5 June, in time. */
export async function disputeLine(s: BillingStory, lineId: number) {
  s.f.clock.set('2013-06-05T10:00:00Z');
  const opened = await s.mod.disputes!.open({
    lineId,
    reason: 'I cannot tell where this traffic came from.',
    actor: { type: 'client', id: String(s.story.clientId) },
  });
  if (!opened.ok) throw new Error(opened.message);
  return opened.value;
}

/** The panel's daily automation run for every day from `from` to `to`, each at 07:00 UTC. */
export async function runPanelDays(s: BillingStory, from: string, to: string): Promise<void> {
  for (let d = from; d <= to; d = addDays(d, 1)) {
    s.f.clock.set(`${d}T07:00:00Z`);
    await s.f.panel.runDailyAutomation(d);
  }
}

/** An invoice's items as [kind, amount]: 'fee' for the panel's late fee, 'item' for any other. */
export async function feeAndItems(s: BillingStory, invoiceId: number): Promise<string[][]> {
  return (await s.f.panel.api.getInvoice(invoiceId)).items.map((i) => [
    i.type === 'LateFee' ? 'fee' : 'item',
    i.amount,
  ]);
}
