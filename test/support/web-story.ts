import express from 'express';
import type { Knex } from 'knex';
import request from 'supertest';
import { silentLogger, type Logger } from '../../module/adapters/logger.js';
import { toNum } from '../../module/adapters/rows.js';
import { createModule, type OverusageModule } from '../../module/index.js';
import type { WebOptions } from '../../module/web/web-module.js';
import type { MasterSettings, SolusVmGateway } from '../../module/adapters/solusvm-types.js';
import { createAdmin, createPanelWeb } from '../../panel/index.js';
import { setClientPassword } from '../../panel/web/passwords.js';
import { buildPanel, seedStory, ZONE, type PanelFixture, type Story } from '../panel/support.js';
import { FakeMaster } from './fake-gateway.js';
import { logInto } from './log-lines.js';
import { CLI_ACTOR, TEST_SECRET_KEY } from './module-fixture.js';
import { registerModule } from './register-module.js';

export const GB = 10n ** 9n;
export const ANN = { email: 'ann@example.net', password: 'ann-password' };
export const JAN = { email: 'jan@example.be', password: 'jan-password' };
export const ADMIN = { username: 'admin', password: 'admin-password' };
const SESSION_SECRET = 'web-story-session-secret-0123456789abcdef';

export interface WebStory {
  f: PanelFixture;
  story: Story;
  mod: OverusageModule;
  fake: FakeMaster;
  app: express.Express;
  adminId: number;
  /** Ann (English) and Jan (Dutch): each a service over its allowance in May, a line on the June renewal */
  ann: { clientId: number; serviceId: number; lineId: number; invoiceId: number };
  jan: { clientId: number; serviceId: number; lineId: number; invoiceId: number };
  token(type: 'admin' | 'client', id: number, ttlSeconds?: number): string;
}

/**
 * The seed thread for the web side: the reference panel, the module (its pages cached for 0 s
 * unless asked otherwise) and its router on one express app, as the demo mounts them. Two clients
 * on a 5 TB plan: Ann used 6 TB in May, Jan 5.5 TB; the renewal invoices of 2 June carry the
 * overusage (dispute by 16 June). June is sampled on the 1st and the 3rd (the 2nd failed: an
 * estimate), and the clock stands at 5 June 10:00 UTC.
 */
export async function buildWebStory(
  knex: Knex,
  opts: {
    web?: WebOptions;
    gatewayFor?: (s: MasterSettings) => SolusVmGateway | null;
    vat?: string;
    log?: Logger;
  } = {},
): Promise<WebStory> {
  const f = await buildPanel(knex, {
    start: '2013-04-30T08:00:00Z',
    settings: { CreateInvoiceDaysBefore: '7', ...(opts.vat ? { TaxEnabled: 'on' } : {}) },
  });
  // with `vat` (e.g. '21.000'), that rate for every country: the overusage lines are taxed, the VPS is not
  if (opts.vat)
    await knex('tbltax').insert({ level: 1, name: 'VAT', state: '', country: '', taxrate: opts.vat });
  const story = await seedStory(f, { regdate: '2013-01-09', nextduedate: '2013-06-09' });
  const fake = new FakeMaster();
  const mod = createModule({
    knex,
    clock: f.clock,
    secretKey: TEST_SECRET_KEY,
    zone: 'Europe/Brussels',
    // a test may reach a master of its own (the simulator) through the real client
    gatewayFor: (settings) => opts.gatewayFor?.(settings) ?? fake.gateway(),
    panel: f.panel.api,
    log: opts.log ?? silentLogger,
    metering: { writer: 'inline' },
    web: { cacheMs: 0, disputeRateLimit: { windowMs: 60_000, limit: 1000 }, ...opts.web },
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
  for (const [serviceId, clientId, ref] of [
    [story.serviceId, story.clientId, '101'],
    [story.dutchServiceId, story.dutchClientId, '102'],
  ] as const) {
    await mod.links.link(
      { serviceId, clientId, productId: story.productId, masterId: master.id, serverRef: ref },
      CLI_ACTOR,
    );
  }
  await mod.billing.setProduct(
    story.productId,
    {
      unit: 'GB',
      model: 'per_unit',
      allowance: '5 TB',
      prices: { EUR: { overage: '0.50', precommit: '0.35' } },
      window: { days: 14, counting: 'calendar', holidays: 'BE' },
    },
    CLI_ACTOR,
  );
  const sample = async (at: string, ann: bigint | null, jan: bigint | null) => {
    f.clock.set(at);
    if (ann === null) fake.fail('101');
    else {
      fake.fail('101', null);
      fake.set('101', ann);
    }
    if (jan !== null) fake.set('102', jan);
    await mod.metering.collect();
  };
  await sample('2013-05-29T21:50:00Z', 5800n * GB, 5300n * GB);
  await sample('2013-05-30T21:50:00Z', 5900n * GB, 5400n * GB);
  await sample('2013-05-31T21:50:00Z', 6000n * GB, 5500n * GB);
  await sample('2013-06-01T21:50:00Z', 150n * GB, 90n * GB);
  f.clock.set('2013-06-02T07:00:00Z');
  await f.panel.runDailyAutomation('2013-06-02');
  await sample('2013-06-02T21:50:00Z', null, 180n * GB);
  await sample('2013-06-03T21:50:00Z', 450n * GB, 270n * GB);
  f.clock.set('2013-06-05T10:00:00Z');

  await setClientPassword(knex, story.clientId, ANN.password, f.clock.now(), ZONE);
  await setClientPassword(knex, story.dutchClientId, JAN.password, f.clock.now(), ZONE);
  const adminId = await createAdmin(
    knex,
    { username: ADMIN.username, password: ADMIN.password, email: 'admin@example.net' },
    f.clock.now(),
    ZONE,
  );
  const app = express();
  app.use(f.panel.apiRouter);
  app.use(createPanelWeb({ panel: f.panel, sessionSecret: SESSION_SECRET, cacheViews: true }));
  app.use(mod.web.router());

  const lineOf = async (serviceId: number) => {
    const l = await knex('mod_overusage_lines').where({ service_id: serviceId }).first();
    if (!l) throw new Error(`no line for service ${serviceId}`);
    return { lineId: toNum(l.id), invoiceId: toNum(l.invoice_id) };
  };
  return {
    f,
    story,
    mod,
    fake,
    app,
    adminId,
    ann: { clientId: story.clientId, serviceId: story.serviceId, ...(await lineOf(story.serviceId)) },
    jan: {
      clientId: story.dutchClientId,
      serviceId: story.dutchServiceId,
      ...(await lineOf(story.dutchServiceId)),
    },
    token: (type, id, ttlSeconds) =>
      mod.web.issueToken({ type, id }, ttlSeconds === undefined ? {} : { ttlSeconds }).token,
  };
}

/** The story built again before each test, its log lines kept, with the reads its tests make. */
export interface LoggedWebStory {
  /** this test's story */
  readonly s: WebStory;
  /** what the module logged since the story was built (a test may empty it: `logged.length = 0`) */
  readonly logged: Array<Record<string, unknown>>;
  /** [table, id, column] of each `event` logged: admin.row_unreadable unless told */
  unreadable(event?: string): unknown[][];
  /** a GET of the module's API as the admin, or as a client (Ann unless another is named) */
  api(as: 'admin' | 'client', path: string, clientId?: number): request.Test;
  /** a page of the admin tab (`a=`, then `query` as is) in a new admin session */
  adminPage(a: string, query?: string): Promise<request.Response>;
}

/**
 * Registers a beforeEach (in the calling describe) that builds the story on the engine's database
 * with the module's log lines kept; a test's own beforeEach, registered after it, runs after it.
 */
export function loggedWebStory(db: () => { knex: Knex }, opts: { web?: WebOptions } = {}): LoggedWebStory {
  // a new array each test: a line a test's module logs late goes to that test's
  let logged: Array<Record<string, unknown>> = [];
  let built: WebStory | undefined;
  beforeEach(async function () {
    this.timeout(30_000);
    logged = [];
    built = await buildWebStory(db().knex, { ...opts, log: logInto(logged) });
  });
  const story = (): WebStory => {
    if (!built) throw new Error('the story is built in beforeEach');
    return built;
  };
  return {
    get s() {
      return story();
    },
    get logged() {
      return logged;
    },
    unreadable: (event = 'admin.row_unreadable') =>
      logged.filter((l) => l.event === event).map((l) => [l.table, l.id, l.column]),
    api: (as, path, clientId) => {
      const s = story();
      const token =
        as === 'admin' ? s.token('admin', s.adminId) : s.token('client', clientId ?? s.ann.clientId);
      return request(s.app).get(`/overusage/api/v1/${as}${path}`).set('Authorization', `Bearer ${token}`);
    },
    adminPage: async (a, query = '') => {
      const { agent } = await login(story().app, ADMIN);
      return agent.get(`/admin/addonmodules.php?module=overusage&a=${a}${query}`);
    },
  };
}

export type Agent = ReturnType<typeof request.agent>;

export const tokenOf = (html: string): string => {
  const m = /name="token" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no CSRF token in the page');
  return m[1]!;
};

/** A logged-in panel session (client or admin) with the page's CSRF token. */
export async function login(
  app: express.Express,
  who: { email: string; password: string } | { username: string; password: string },
): Promise<{ agent: Agent; token: string }> {
  const agent = request.agent(app);
  const admin = 'username' in who;
  const form = await agent.get(admin ? '/admin/login.php' : '/login.php').expect(200);
  const res = await agent
    .post(admin ? '/admin/dologin.php' : '/dologin.php')
    .type('form')
    .send({ token: tokenOf(form.text), username: admin ? who.username : who.email, password: who.password });
  if (res.status !== 303) throw new Error(`login failed: ${res.status}`);
  const home = await agent.get(admin ? '/admin/index.php' : '/clientarea.php').expect(200);
  return { agent, token: tokenOf(home.text) };
}

/**
 * A client's May line waived after it was paid: the June renewal paid on 3 June, the line disputed
 * on 5 June (over the client API) and waived on 10 June with the money back as account credit
 * (Ann €500.00, Jan €250.00).
 */
export async function waivePaidLine(s: WebStory, key: 'ann' | 'jan'): Promise<void> {
  const who = s[key];
  s.f.clock.set('2013-06-05T10:00:00Z');
  await s.f.panel.api.addInvoicePayment({
    invoiceId: who.invoiceId,
    transId: `pay-${key}`,
    gateway: 'banktransfer',
    date: '2013-06-03 10:00:00',
  });
  const opened = await request(s.app)
    .post(`/overusage/api/v1/client/lines/${who.lineId}/dispute`)
    .set('Authorization', `Bearer ${s.token('client', who.clientId)}`)
    .send({ reason: 'I cannot tell where this came from.' });
  if (opened.status !== 201) throw new Error(`dispute refused: ${opened.status} ${opened.text}`);
  s.f.clock.set('2013-06-10T09:00:00Z');
  const waived = await request(s.app)
    .post(`/overusage/api/v1/admin/disputes/${opened.body.dispute.id}/resolve`)
    .set('Authorization', `Bearer ${s.token('admin', s.adminId)}`)
    .send({ to: 'waived', settlement: 'credit' });
  if (waived.status !== 200) throw new Error(`waiver refused: ${waived.status} ${waived.text}`);
}

/** Text of a page as the eye reads it: no tags or charts, entities decoded, every run of spaces (no-break ones too) one space. */
export const pageText = (html: string): string =>
  html
    .replace(/<svg[\s\S]*?<\/svg>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&#34;|&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
