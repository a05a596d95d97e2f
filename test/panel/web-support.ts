import express from 'express';
import type { Knex } from 'knex';
import request from 'supertest';
import { createAdmin, createPanelWeb, type PanelWebOptions } from '../../panel/index.js';
import { setClientPassword } from '../../panel/web/passwords.js';
import { buildPanel, seedStory, ZONE, type PanelFixture, type Story } from './support.js';

export const SECRET = 'test-session-secret-0123456789-abcdef';
export const ANN = { email: 'ann@example.net', password: 'ann-password' };
export const JAN = { email: 'jan@example.be', password: 'jan-password' };
export const ADMIN = { username: 'admin', password: 'admin-password' };

export interface WebFixture extends PanelFixture {
  story: Story;
  app: express.Express;
  adminId: number;
}

/** A panel with the story's two clients (with passwords), an admin, and the pages mounted at /. */
export async function buildWeb(
  knex: Knex,
  opts: { start?: string; web?: Partial<PanelWebOptions>; settings?: Record<string, string> } = {},
): Promise<WebFixture> {
  const f = await buildPanel(knex, {
    start: opts.start ?? '2025-01-20T09:30:00Z',
    ...(opts.settings ? { settings: opts.settings } : {}),
  });
  const story = await seedStory(f);
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
  app.use(createPanelWeb({ panel: f.panel, sessionSecret: SECRET, ...opts.web }));
  return { ...f, story, app, adminId };
}

/** The CSRF token of the first form on a page. */
export function tokenOf(html: string): string {
  const m = /name="token" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no token on the page');
  return m[1]!;
}

export type Agent = ReturnType<typeof request.agent>;

export async function clientLogin(
  app: express.Express,
  who: { email: string; password: string } = ANN,
): Promise<{ agent: Agent; token: string }> {
  const agent = request.agent(app);
  const form = await agent.get('/login.php').expect(200);
  const res = await agent
    .post('/dologin.php')
    .type('form')
    .send({ token: tokenOf(form.text), username: who.email, password: who.password });
  if (res.status !== 303) throw new Error(`client login failed: ${res.status} ${res.text.slice(0, 200)}`);
  const home = await agent.get('/clientarea.php').expect(200);
  return { agent, token: tokenOf(home.text) };
}

export async function adminLogin(
  app: express.Express,
  who: { username: string; password: string } = ADMIN,
): Promise<{ agent: Agent; token: string }> {
  const agent = request.agent(app);
  const form = await agent.get('/admin/login.php').expect(200);
  const res = await agent
    .post('/admin/dologin.php')
    .type('form')
    .send({ token: tokenOf(form.text), username: who.username, password: who.password });
  if (res.status !== 303) throw new Error(`admin login failed: ${res.status} ${res.text.slice(0, 200)}`);
  const home = await agent.get('/admin/index.php').expect(200);
  return { agent, token: tokenOf(home.text) };
}

/** Creates an invoice for a client through the panel's API; returns its id. */
export async function invoiceFor(
  f: PanelFixture,
  userid: number,
  lines: Array<[string, string]>,
  opts: { duedate?: string; draft?: boolean } = {},
): Promise<number> {
  const params: Record<string, string> = { userid: String(userid), duedate: opts.duedate ?? '2025-02-01' };
  if (opts.draft) params.draft = '1';
  lines.forEach(([d, a], i) => {
    params[`itemdescription${i + 1}`] = d;
    params[`itemamount${i + 1}`] = a;
    params[`itemtaxed${i + 1}`] = '0';
  });
  const r = await f.panel.commands.execute('CreateInvoice', params, { source: 'localapi', user: 'system' });
  if (r.result !== 'success') throw new Error(r.message);
  return Number(r.invoiceid);
}
