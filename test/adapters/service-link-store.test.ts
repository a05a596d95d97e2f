import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { migrateLatest } from '../../module/adapters/migrator.js';
import {
  createServiceLinkStore,
  type LinkFields,
  type ServiceLinkStore,
} from '../../module/adapters/service-link-store.js';
import { TABLES } from '../../module/adapters/tables.js';
import type { ModuleError } from '../../module/domain/errors.js';
import { describeEachEngine } from '../support/engines.js';

const AT = DateTime.fromISO('2026-12-05T22:00:00Z', { zone: 'utc' });

const link = (serviceId: number, over: Partial<LinkFields> = {}): LinkFields => ({
  serviceId,
  clientId: 1,
  productId: 3,
  masterId: 1,
  serverRef: `vs${serviceId}`,
  serverUuid: null,
  resetPolicy: null,
  resetDay: null,
  billingDay: null,
  currency: 'EUR',
  regdate: null,
  active: true,
  ...over,
});

describeEachEngine('service links store', ({ db }) => {
  let knex: Knex;
  let store: ServiceLinkStore;
  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (e: unknown) => e as ModuleError,
    );

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    store = createServiceLinkStore(knex);
    const master = (id: number) => ({
      id,
      name: `m${id}`,
      version: 1,
      base_url: 'https://m.example.net',
      credentials_enc: 'sealed',
      time_zone: 'UTC',
      reset_policy: 'first_of_month',
      created_at: '2026-12-05 22:00:00.000',
      updated_at: '2026-12-05 22:00:00.000',
    });
    await knex(TABLES.masters).insert([master(1), master(2)]);
  });
  beforeEach(async () => {
    await knex(TABLES.services).delete();
  });

  it('reads a new link back as written, never sampled and already on the billing calendar', async () => {
    const full = link(10, {
      clientId: 4,
      productId: 9,
      masterId: 2,
      serverUuid: 'c0ffee',
      resetPolicy: 'anniversary',
      resetDay: 17,
      billingDay: 3,
      currency: 'USD',
      regdate: '2026-02-17',
      active: false,
    });
    await store.insert(knex, [full], AT);
    expect(await store.get(knex, 10)).to.deep.equal({ ...full, lastSampleDate: null, lastSampleId: null });
    expect(await store.get(knex, 11)).to.equal(null);
    const [row] = await knex(TABLES.services).where({ service_id: 10 }).select('calendar_version');
    expect(Number(row.calendar_version)).to.equal(1);
  });

  it('lists by service id ascending, filtered by master and client, from a service on, at most the limit', async () => {
    // written 14, 11, 13, 12, 15: 11 and 13 on master 2, 15 of client 2
    await store.insert(
      knex,
      [link(14), link(11, { masterId: 2 }), link(13, { masterId: 2 }), link(12), link(15, { clientId: 2 })],
      AT,
    );
    const ids = async (f: Parameters<ServiceLinkStore['list']>[0]) =>
      (await store.list(f)).map((l) => l.serviceId);
    expect(await ids({ limit: 100 })).to.deep.equal([11, 12, 13, 14, 15]);
    expect(await ids({ limit: 2 })).to.deep.equal([11, 12]);
    expect(await ids({ limit: 2, afterServiceId: 12 })).to.deep.equal([13, 14]);
    expect(await ids({ limit: 100, masterId: 2 })).to.deep.equal([11, 13]);
    expect(await ids({ limit: 100, clientId: 2 })).to.deep.equal([15]);
    expect(await ids({ limit: 100, masterId: 1, clientId: 1 })).to.deep.equal([12, 14]);
  });

  it('tells which other service holds a server, not the service itself', async () => {
    await store.insert(knex, [link(10, { serverRef: '101' })], AT);
    expect(await store.serverTakenBy(knex, 1, '101', 11)).to.equal(10);
    expect(await store.serverTakenBy(knex, 1, '101', 10)).to.equal(null);
    // the same vserverid on another master is another server
    expect(await store.serverTakenBy(knex, 2, '101', 11)).to.equal(null);
  });

  it('refuses a second link to the same server of a master (the table keeps one)', async () => {
    await store.insert(knex, [link(10, { serverRef: '101' })], AT);
    const err = await refusal(store.insert(knex, [link(11, { serverRef: '101' })], AT));
    expect(err).to.be.instanceOf(Error);
    expect((await store.list({ limit: 10 })).map((l) => l.serviceId)).to.deep.equal([10]);
  });

  it('updates a link in place, keeping its sampling state and creation time', async () => {
    await store.insert(knex, [link(10)], AT);
    await knex(TABLES.services)
      .where({ service_id: 10 })
      .update({ last_sample_id: 77, last_sample_date: '2026-12-04' });
    await store.update(
      knex,
      link(10, { productId: 5, currency: 'GBP', billingDay: 28 }),
      AT.plus({ hours: 1 }),
    );
    expect(await store.get(knex, 10)).to.deep.equal({
      ...link(10, { productId: 5, currency: 'GBP', billingDay: 28 }),
      lastSampleDate: '2026-12-04',
      lastSampleId: 77,
    });
    // created 22:00, updated 22:00 + 1 h = 23:00
    const [row] = await knex(TABLES.services).where({ service_id: 10 }).select('created_at', 'updated_at');
    expect([String(row.created_at).slice(0, 16), String(row.updated_at).slice(0, 16)]).to.deep.equal([
      '2026-12-05 22:00',
      '2026-12-05 23:00',
    ]);
  });

  it('switches a link off and on, and says when the service is not linked', async () => {
    await store.insert(knex, [link(10)], AT);
    expect(await store.setActive(knex, 10, false, AT)).to.equal(true);
    expect((await store.get(knex, 10))?.active).to.equal(false);
    expect(await store.setActive(knex, 10, true, AT)).to.equal(true);
    expect((await store.get(knex, 10))?.active).to.equal(true);
    expect(await store.setActive(knex, 99, false, AT)).to.equal(false);
  });

  it('writes every one of 1 203 new links at once (an import), none lost between its chunks', async () => {
    // chunks of 500 rows: 500 + 500 + 203 = 1 203
    await store.insert(
      knex,
      Array.from({ length: 1203 }, (_, i) => link(1000 + i)),
      AT,
    );
    const counted = await knex(TABLES.services).count({ n: '*' }).first();
    expect(Number(counted?.n)).to.equal(1203);
  });

  it('refuses a link whose reset_policy was written by hand, naming the column', async () => {
    await store.insert(knex, [link(10)], AT);
    await knex(TABLES.services).where({ service_id: 10 }).update({ reset_policy: 'weekly' });
    const err = await refusal(store.get(knex, 10));
    expect([err?.code, err?.message]).to.deep.equal([
      'UNEXPECTED_STATE',
      'mod_overusage_services.reset_policy holds "weekly", which is not one of first_of_month, anniversary, never',
    ]);
  });
});
