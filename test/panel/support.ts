import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Knex } from 'knex';
import { ManualClock } from '../../module/adapters/clocks.js';
import { silentLogger } from '../../module/adapters/logger.js';
import {
  createPanel,
  createAdmin,
  createApiCredential,
  type Panel,
  type PanelOptions,
} from '../../panel/index.js';
import { setSetting } from '../../panel/db/settings.js';
import { addClient, addProduct, addProductCustomField, addService } from '../../panel/records.js';

export const ZONE = 'Europe/Brussels';

export interface PanelFixture {
  panel: Panel;
  clock: ManualClock;
  knex: Knex;
  setting(key: string, value: string): Promise<void>;
}

/** A panel on a fresh schema (the tables are dropped and created again). */
export async function buildPanel(
  knex: Knex,
  opts: { start: string; settings?: Record<string, string> } & Partial<PanelOptions> = {
    start: '2025-01-01T08:00:00Z',
  },
): Promise<PanelFixture> {
  const clock = new ManualClock(opts.start);
  const panel = createPanel({ knex, clock, zone: ZONE, log: silentLogger, ...opts });
  await panel.rollback();
  await panel.migrate();
  const setting = (key: string, value: string) => setSetting(knex, key, value, clock.now(), ZONE);
  for (const [k, v] of Object.entries(opts.settings ?? {})) await setting(k, v);
  return { panel, clock, knex, setting };
}

export interface Story {
  clientId: number;
  dutchClientId: number;
  productId: number;
  vserverFieldId: number;
  serviceId: number;
  dutchServiceId: number;
}

/** Two clients (English and Dutch) with a monthly VPS each, carrying a SolusVM vserverid. */
export async function seedStory(
  f: PanelFixture,
  opts: { nextduedate?: string; regdate?: string } = {},
): Promise<Story> {
  const now = f.clock.now();
  const clientId = await addClient(
    f.knex,
    { firstname: 'Ann', lastname: 'Admin', email: 'ann@example.net', language: 'english' },
    now,
    ZONE,
  );
  const dutchClientId = await addClient(
    f.knex,
    { firstname: 'Jan', lastname: 'Peeters', email: 'jan@example.be', language: 'dutch' },
    now,
    ZONE,
  );
  const productId = await addProduct(
    f.knex,
    { name: 'VPS 5 TB', servertype: 'solusvmpro', tax: false },
    now,
    ZONE,
  );
  const vserverFieldId = await addProductCustomField(f.knex, productId, 'vserverid');
  const regdate = opts.regdate ?? '2024-12-01';
  const nextduedate = opts.nextduedate ?? '2025-02-01';
  const serviceId = await addService(
    f.knex,
    {
      userid: clientId,
      packageid: productId,
      domain: 'vps1.example.net',
      regdate,
      nextduedate,
      amount: '19.95',
      customfields: { [vserverFieldId]: '101' },
    },
    now,
    ZONE,
  );
  const dutchServiceId = await addService(
    f.knex,
    {
      userid: dutchClientId,
      packageid: productId,
      domain: 'vps2.example.be',
      regdate,
      nextduedate,
      amount: '24.50',
      customfields: { [vserverFieldId]: '102' },
    },
    now,
    ZONE,
  );
  return { clientId, dutchClientId, productId, vserverFieldId, serviceId, dutchServiceId };
}

export interface ServedApi {
  url: string;
  identifier: string;
  secret: string;
  close(): Promise<void>;
}

/** The panel's /includes/api.php on 127.0.0.1:<random>, with an admin and an API credential. */
export async function serveApi(f: PanelFixture): Promise<ServedApi> {
  const adminId = await createAdmin(
    f.knex,
    { username: 'admin', password: 'admin-password', email: 'admin@example.net' },
    f.clock.now(),
    ZONE,
  );
  const { identifier, secret } = await createApiCredential(
    f.knex,
    { adminId, description: 'tests' },
    f.clock.now(),
    ZONE,
  );
  const app = express();
  app.use(f.panel.apiRouter);
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    identifier,
    secret,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Row counts and contents of the tables a bad call must not touch. */
export async function snapshot(knex: Knex): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const t of [
    'tblinvoices',
    'tblinvoiceitems',
    'tblaccounts',
    'tblhosting',
    'tblclients',
    'tblemails',
    'tblcustomfieldsvalues',
    'tblcredit',
    'tblconfiguration',
    'tblproducts',
    'tblpricing',
    'tblorders',
    'tblpromotions',
    'tblhostingconfigoptions',
  ]) {
    out[t] = JSON.parse(
      JSON.stringify(
        await knex(t)
          .select('*')
          .orderBy(t === 'tblconfiguration' ? 'setting' : 'id'),
        (_k, v) => (typeof v === 'bigint' ? v.toString() : v),
      ),
    );
  }
  return out;
}
