import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { migrateLatest } from '../../module/adapters/migrator.js';
import {
  createPanelSyncStore,
  SOLUSIO_TABLE,
  type DirectoryEntry,
  type PanelSyncStore,
} from '../../module/adapters/panel-sync-store.js';
import { TABLES } from '../../module/adapters/tables.js';
import { ModuleError } from '../../module/domain/errors.js';
import { describeEachEngine } from '../support/engines.js';

const NOW = DateTime.fromISO('2013-06-05T10:00:00.000Z', { zone: 'utc' });

const entry = (serviceId: number, over: Partial<DirectoryEntry> = {}): DirectoryEntry => ({
  serviceId,
  clientId: 1,
  clientName: 'Ann Example',
  hostname: `vps${serviceId}.example`,
  ips: '192.0.2.1',
  productName: 'VPS S',
  searchText: `ann example vps${serviceId}.example`,
  ...over,
});

/**
 * The panel sync's rows on both engines: the links it compares against, the SolusVM 2 module's
 * table (the panel's, created here as the official module does), the sync issues replaced whole
 * by each sync, and the directory the admin tab searches.
 */
describeEachEngine('panel sync store', ({ db }) => {
  let knex: Knex;
  let store: PanelSyncStore;

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    store = createPanelSyncStore(knex);
    await knex(TABLES.masters).insert({
      id: 2,
      name: 'm2',
      version: 2,
      base_url: 'https://solusvm.example',
      credentials_enc: 'x',
      time_zone: 'UTC',
      reset_policy: 'monthly',
      created_at: '2013-01-01 00:00:00.000',
      updated_at: '2013-01-01 00:00:00.000',
    });
  });

  it('reads the linked services as the sync compares them: master, server, currency, product, active, billing day', async () => {
    const at = '2013-01-01 00:00:00.000';
    await knex(TABLES.services).insert([
      {
        service_id: 10,
        client_id: 1,
        product_id: 3,
        master_id: 2,
        server_ref: '101',
        currency: 'USD',
        active: true,
        billing_day: 15,
        created_at: at,
        updated_at: at,
      },
      {
        service_id: 11,
        client_id: 1,
        product_id: 3,
        master_id: 2,
        server_ref: '102',
        currency: 'EUR',
        active: false,
        created_at: at,
        updated_at: at,
      },
    ]);
    expect(await store.linkedServices()).to.deep.equal([
      {
        serviceId: 10,
        masterId: 2,
        serverRef: '101',
        active: true,
        currency: 'USD',
        productId: 3,
        billingDay: 15,
      },
      {
        serviceId: 11,
        masterId: 2,
        serverRef: '102',
        active: false,
        currency: 'EUR',
        productId: 3,
        billingDay: null,
      },
    ]);
  });

  it("reads the SolusVM 2 module's table, the newest row of a service winning, and nothing when the panel has no such table", async () => {
    expect(await store.solusIoServers()).to.deep.equal(new Map());
    await knex.schema.createTable(SOLUSIO_TABLE, (t) => {
      t.increments('id');
      t.bigInteger('service_id');
      t.bigInteger('server_id');
      t.text('payload', 'longtext');
    });
    // service 10 was rebuilt: server 7 then 9; service 11 on server 8
    await knex(SOLUSIO_TABLE).insert([
      { service_id: 10, server_id: 7, payload: '{}' },
      { service_id: 11, server_id: 8, payload: '{}' },
      { service_id: 10, server_id: 9, payload: '{}' },
    ]);
    expect([...(await store.solusIoServers())]).to.deep.equal([
      [10, '9'],
      [11, '8'],
    ]);
  });

  it("refuses a row of the SolusVM 2 module's table without a server, naming the column", async () => {
    await knex(SOLUSIO_TABLE).insert({ service_id: 12, server_id: null, payload: '{}' });
    const err = await store.solusIoServers().then(
      () => null,
      (e: unknown) => e,
    );
    await knex(SOLUSIO_TABLE).where({ service_id: 12 }).delete();
    expect(err).to.be.instanceOf(ModuleError);
    expect((err as ModuleError).message).to.equal(
      'solusiovps_servers.server_id holds null, which is not an integer',
    );
  });

  it("keeps only the last sync's issues, by service, their texts cut to the columns (255 and 500 characters)", async () => {
    await store.replaceIssues(
      [{ serviceId: 30, clientId: 3, productId: 4, domain: 'old.example', reason: 'old' }],
      NOW,
    );
    await store.replaceIssues(
      [
        { serviceId: 21, clientId: 2, productId: 4, domain: 'd'.repeat(300), reason: 'r'.repeat(600) },
        {
          serviceId: 20,
          clientId: 2,
          productId: 4,
          domain: 'b.example',
          reason: 'no vserverid custom field value',
        },
      ],
      NOW.plus({ hours: 1 }),
    );
    const issues = await store.issues();
    expect(
      issues.map((i) => [
        i.serviceId,
        i.clientId,
        i.productId,
        i.domain.length,
        i.reason.length,
        i.seenAt.toISO(),
      ]),
    ).to.deep.equal([
      [20, 2, 4, 9, 31, '2013-06-05T11:00:00.000Z'],
      [21, 2, 4, 255, 500, '2013-06-05T11:00:00.000Z'],
    ]);
    await store.replaceIssues([], NOW);
    expect(await store.issues()).to.deep.equal([]);
  });

  it('writes the directory in chunks and updates an entry a later sync sees renamed', async () => {
    // 450 services: chunks of 200, 200 and 50
    await store.writeDirectory(
      Array.from({ length: 450 }, (_, i) => entry(1000 + i)),
      NOW,
    );
    await store.writeDirectory(
      [entry(1449, { clientName: 'Ann Renamed', searchText: 'ann renamed' })],
      NOW.plus({ days: 1 }),
    );
    const count = await knex(TABLES.directory).count({ n: '*' }).first();
    expect(Number(count!.n)).to.equal(450);
    const last = await knex(TABLES.directory).where({ service_id: 1449 }).first();
    expect([
      last.client_name,
      last.hostname,
      last.search_text,
      String(last.updated_at).slice(0, 19),
    ]).to.deep.equal(['Ann Renamed', 'vps1449.example', 'ann renamed', '2013-06-06 10:00:00']);
  });
});
