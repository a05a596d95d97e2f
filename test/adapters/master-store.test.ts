import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import {
  createMasterStore,
  masterFromRow,
  type MasterFields,
  type MasterStore,
} from '../../module/adapters/master-store.js';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { TABLES } from '../../module/adapters/tables.js';
import type { ModuleError } from '../../module/domain/errors.js';
import { describeEachEngine } from '../support/engines.js';

const AT = DateTime.fromISO('2026-12-05T22:00:00Z', { zone: 'utc' });

// the sealed columns are opaque text to the store: what the SecretBox gave, written and read as is
const fields = (over: Partial<MasterFields> = {}): MasterFields => ({
  name: 'brussels',
  version: 1,
  baseUrl: 'https://master.example.net:5656',
  credentialsSealed: 'v1.aXY.dGFn.Y2lwaGVy',
  basicAuthSealed: null,
  tlsMode: 'pinned',
  tlsFingerprint: 'AB:CD',
  timeZone: 'Europe/Brussels',
  resetPolicy: 'anniversary',
  anniversaryFrom: 'panel',
  apiUserType: 'reseller',
  unitLabels: 'decimal',
  concurrency: 4,
  timeoutMs: 30000,
  retries: 1,
  active: false,
  panelServerId: 7,
  ...over,
});

describeEachEngine('masters store', ({ db }) => {
  let knex: Knex;
  let store: MasterStore;
  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (e: unknown) => e as ModuleError,
    );

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    store = createMasterStore(knex);
  });
  beforeEach(async () => {
    await knex(TABLES.services).delete();
    await knex(TABLES.masters).delete();
  });

  it('reads a master back with every field as written, the sealed ones untouched', async () => {
    const m = await store.insert(knex, fields({ basicAuthSealed: 'v1.aXY.dGFn.aHRwYXNzd2Q' }), AT);
    expect(m).to.deep.equal({ id: m.id, ...fields({ basicAuthSealed: 'v1.aXY.dGFn.aHRwYXNzd2Q' }) });
    expect(await store.get(knex, m.id)).to.deep.equal(m);
    expect(await store.byName(knex, 'brussels')).to.deep.equal(m);
    expect(await store.get(knex, m.id + 1)).to.equal(null);
    expect(await store.byName(knex, 'amsterdam')).to.equal(null);
  });

  it('lists the masters in the order they were added (by id), not by name', async () => {
    const z = await store.insert(knex, fields({ name: 'zaventem' }), AT);
    const a = await store.insert(knex, fields({ name: 'amsterdam' }), AT);
    expect((await store.list()).masters.map((m) => [m.id, m.name])).to.deep.equal([
      [z.id, 'zaventem'],
      [a.id, 'amsterdam'],
    ]);
  });

  it('refuses a second master of the same name', async () => {
    await store.insert(knex, fields(), AT);
    const err = await refusal(store.insert(knex, fields({ baseUrl: 'https://other.example.net' }), AT));
    expect(err).to.be.instanceOf(Error);
    expect((await store.list()).masters.map((m) => m.baseUrl)).to.deep.equal([
      'https://master.example.net:5656',
    ]);
  });

  it('replaces every field on update, the id and the other masters unchanged', async () => {
    const m = await store.insert(knex, fields(), AT);
    const other = await store.insert(knex, fields({ name: 'amsterdam' }), AT);
    const changed = fields({
      name: 'brussels-2',
      version: 2,
      tlsMode: 'verify',
      tlsFingerprint: null,
      panelServerId: null,
      active: true,
    });
    expect(await store.update(knex, m.id, changed, AT.plus({ minutes: 1 }))).to.deep.equal({
      id: m.id,
      ...changed,
    });
    expect(await store.get(knex, other.id)).to.deep.equal(other);
    // 22:00 + 1 min
    const [row] = await knex(TABLES.masters).where({ id: m.id }).select('created_at', 'updated_at');
    expect([String(row.created_at).slice(0, 19), String(row.updated_at).slice(0, 19)]).to.deep.equal([
      '2026-12-05 22:00:00',
      '2026-12-05 22:01:00',
    ]);
  });

  it('counts the services linked to each master, and removes one master only', async () => {
    const a = await store.insert(knex, fields({ name: 'a' }), AT);
    const b = await store.insert(knex, fields({ name: 'b' }), AT);
    const c = await store.insert(knex, fields({ name: 'c' }), AT);
    const link = (serviceId: number, masterId: number) => ({
      service_id: serviceId,
      client_id: 1,
      master_id: masterId,
      server_ref: String(serviceId),
      created_at: '2026-12-05 22:00:00.000',
      updated_at: '2026-12-05 22:00:00.000',
    });
    await knex(TABLES.services).insert([link(10, a.id), link(11, a.id), link(12, b.id)]);
    // a: 10 and 11; b: 12; c: none
    expect([
      await store.linkedServices(a.id),
      await store.linkedServices(b.id),
      await store.linkedServices(c.id),
    ]).to.deep.equal([2, 1, 0]);
    await store.remove(knex, c.id);
    expect((await store.list()).masters.map((m) => m.name)).to.deep.equal(['a', 'b']);
  });

  it('gives the reset policy and version of each master, for linking', async () => {
    const a = await store.insert(knex, fields({ name: 'a', version: 1, resetPolicy: 'anniversary' }), AT);
    const b = await store.insert(knex, fields({ name: 'b', version: 2, resetPolicy: 'never' }), AT);
    expect(await store.linkRules(knex)).to.deep.equal(
      new Map([
        [a.id, { resetPolicy: 'anniversary', version: 1 }],
        [b.id, { resetPolicy: 'never', version: 2 }],
      ]),
    );
    // one master asked for: only its own (a master added after it is not read)
    expect(await store.linkRules(knex, b.id)).to.deep.equal(
      new Map([[b.id, { resetPolicy: 'never', version: 2 }]]),
    );
    expect(await store.linkRules(knex, b.id + 1)).to.deep.equal(new Map());
  });

  for (const [col, value, message] of [
    [
      'tls_mode',
      'maybe',
      'mod_overusage_masters.tls_mode holds "maybe", which is not one of verify, pinned, insecure',
    ],
    ['version', 3, 'mod_overusage_masters.version holds 3, which is not a SolusVM version (1 or 2)'],
    [
      'reset_policy',
      'weekly',
      'mod_overusage_masters.reset_policy holds "weekly", which is not one of first_of_month, anniversary, never',
    ],
    [
      'unit_labels',
      'metric',
      'mod_overusage_masters.unit_labels holds "metric", which is not one of binary, decimal',
    ],
  ] as const) {
    it(`refuses a master whose ${col} was written by hand as ${JSON.stringify(value)}, naming the column; lists the others and names it apart`, async () => {
      const before = await store.insert(knex, fields({ name: 'amsterdam' }), AT);
      const m = await store.insert(knex, fields(), AT);
      const after = await store.insert(knex, fields({ name: 'zaventem', active: true }), AT);
      await knex(TABLES.masters)
        .where({ id: m.id })
        .update({ [col]: value });
      const err = await refusal(store.get(knex, m.id));
      expect([err?.code, err?.message]).to.deep.equal(['UNEXPECTED_STATE', message]);
      // the list goes on with the two that read, and says which one does not and why
      const all = await store.list();
      expect(all.masters).to.deep.equal([before, after]);
      expect(all.unreadable).to.deep.equal([
        {
          id: m.id,
          name: 'brussels',
          active: false,
          column: `mod_overusage_masters.${col}`,
          problem: message,
        },
      ]);
    });
  }

  it('lists an unreadable master by its id when its name is empty too', async () => {
    const m = await store.insert(knex, fields({ active: true }), AT);
    const ok = await store.insert(knex, fields({ name: 'amsterdam' }), AT);
    await knex(TABLES.masters).where({ id: m.id }).update({ version: 7, name: '' });
    const all = await store.list();
    expect(all.masters).to.deep.equal([ok]);
    expect(all.unreadable).to.deep.equal([
      {
        id: m.id,
        name: null,
        active: true,
        column: 'mod_overusage_masters.version',
        problem: 'mod_overusage_masters.version holds 7, which is not a SolusVM version (1 or 2)',
      },
    ]);
  });

  it('names a sealed column it cannot read without repeating what it holds', async () => {
    const m = await store.insert(knex, fields(), AT);
    const [row] = await knex(TABLES.masters).where({ id: m.id });
    const err = (() => {
      try {
        masterFromRow({ ...row, credentials_enc: 4242 });
        return null;
      } catch (e) {
        return e as ModuleError;
      }
    })();
    expect([err?.code, err?.message]).to.deep.equal([
      'UNEXPECTED_STATE',
      'mod_overusage_masters.credentials_enc holds a value, which is not sealed text',
    ]);
    // nor kept in the details a log may print
    expect(err?.details).to.deep.equal({ column: 'mod_overusage_masters.credentials_enc' });
  });
});
