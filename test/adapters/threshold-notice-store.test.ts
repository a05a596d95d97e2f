import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { insertChunked } from '../../module/adapters/sql-helpers.js';
import { TABLES } from '../../module/adapters/tables.js';
import {
  createThresholdNoticeStore,
  type ThresholdNoticeStore,
} from '../../module/adapters/threshold-notice-store.js';
import type { ModuleError } from '../../module/domain/errors.js';
import { describeEachEngine } from '../support/engines.js';

const AT = DateTime.fromISO('2026-12-05T22:00:00Z', { zone: 'utc' });

describeEachEngine('threshold notices store', ({ db }) => {
  let knex: Knex;
  let store: ThresholdNoticeStore;
  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (e: unknown) => e as ModuleError,
    );
  const pending = (serviceId: number, key: string, clientId = 1, details: unknown = { pct: 80 }) =>
    store.insertPending({ serviceId, clientId, key, details }, AT);
  const keys = (rows: Array<{ key: string }>) => rows.map((r) => r.key);

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    store = createThresholdNoticeStore(knex);
  });
  beforeEach(async () => {
    await knex(TABLES.notices).delete();
  });

  it('reads a new notice back as pending, its facts as written', async () => {
    const n = await pending(10, 'period:5:80', 1, { pct: 80, covers: [80], usedBytes: '800000000000' });
    expect(n.status).to.equal('pending');
    expect(await store.get(n.id)).to.deep.equal({
      id: n.id,
      serviceId: 10,
      clientId: 1,
      key: 'period:5:80',
      status: 'pending',
      details: { pct: 80, covers: [80], usedBytes: '800000000000' },
      createdAt: AT,
    });
    expect(await store.get(n.id + 1)).to.equal(null);
  });

  it('writes one notice per service and key, however often it is decided: the second gets the first back', async () => {
    const first = await pending(10, 'period:5:80', 1, { pct: 80 });
    await store.claim(first.id);
    const again = await pending(10, 'period:5:80', 1, { pct: 80, covers: [80, 90] });
    // the first one, now sending, and its facts unchanged
    expect(again).to.deep.equal({ id: first.id, status: 'sending' });
    expect((await store.get(first.id))?.details).to.deep.equal({ pct: 80 });
    // another service may have the same key
    expect((await pending(11, 'period:5:80')).id).to.not.equal(first.id);
  });

  it('lets one claim win: a second claim of the same notice, or one of a sent notice, gets nothing', async () => {
    const n = await pending(10, 'period:5:80');
    const claims = await Promise.all([store.claim(n.id), store.claim(n.id)]);
    expect(claims.filter(Boolean)).to.have.length(1);
    await store.markSent(knex, n.id, { pct: 80, delivery: { attempts: 0 } }, AT.plus({ minutes: 2 }));
    expect(await store.claim(n.id)).to.equal(false);
    const sent = await store.get(n.id);
    expect([sent?.status, sent?.details]).to.deep.equal(['sent', { pct: 80, delivery: { attempts: 0 } }]);
    // sent at 22:00 + 2 min
    const [row] = await knex(TABLES.notices).where({ id: n.id }).select('sent_at');
    expect(String(row.sent_at).slice(0, 16)).to.equal('2026-12-05 22:02');
  });

  it('lets a failed notice be claimed again, and a sender that stopped mid-way leaves it owed', async () => {
    const a = await pending(10, 'period:5:80');
    const b = await pending(11, 'period:6:90');
    await store.claim(a.id);
    await store.markFailed(a.id, { delivery: { attempts: 1 } });
    expect(await store.claim(a.id)).to.equal(true);
    await store.claim(b.id);
    // both sending: released, both failed and owed again
    await store.releaseSending();
    expect((await store.owed()).map((n) => [n.id, n.status])).to.deep.equal([
      [a.id, 'failed'],
      [b.id, 'failed'],
    ]);
    expect(await store.owedServiceIds()).to.deep.equal([10, 11]);
  });

  it('retires only a notice still owed: a sent one stays sent', async () => {
    const owed = await pending(10, 'period:5:80');
    const sent = await pending(10, 'period:5:90');
    await store.claim(sent.id);
    await store.markSent(knex, sent.id, {}, AT);
    await store.retire(owed.id, 'superseded');
    await store.retire(sent.id, 'expired');
    expect([(await store.get(owed.id))?.status, (await store.get(sent.id))?.status]).to.deep.equal([
      'superseded',
      'sent',
    ]);
    expect(await store.owed()).to.deep.equal([]);
    expect(await store.owedServiceIds()).to.deep.equal([]);
  });

  it("finds a client's notices by key prefix, live ones only when asked, and a service's live ones", async () => {
    await pending(10, 'pool:eu:2026-12-01:80', 1);
    const retired = await pending(11, 'pool:eu:2026-12-01:90', 1);
    await store.retire(retired.id, 'superseded');
    await pending(12, 'pool:eu:2026-11-01:80', 1);
    await pending(13, 'pool:eu:2026-12-01:100', 2); // another client's
    await pending(10, 'period:5:80', 1);
    expect(keys(await store.ofClient(1, 'pool:eu:2026-12-01:'))).to.deep.equal([
      'pool:eu:2026-12-01:80',
      'pool:eu:2026-12-01:90',
    ]);
    expect(keys(await store.ofClient(1, 'pool:eu:2026-12-01:', { live: true }))).to.deep.equal([
      'pool:eu:2026-12-01:80',
    ]);
    expect(keys(await store.ofClient(1, 'pool:', { live: true }))).to.deep.equal([
      'pool:eu:2026-12-01:80',
      'pool:eu:2026-11-01:80',
    ]);
    expect(keys(await store.liveOfService(10, 'period:5:'))).to.deep.equal(['period:5:80']);
    expect(keys(await store.liveOfService(10, 'period:6:'))).to.deep.equal([]);
  });

  it("takes a pool's name literally: 'eu_1' and '10%' do not find the notices of 'eu-1' and '100'", async () => {
    // as LIKE wildcards, _ would match the '-' of eu-1 and % the '0:' of 100:…
    await pending(10, 'pool:eu-1:2026-12-01:80', 1);
    await pending(11, 'pool:100:2026-12-01:80', 1);
    await pending(12, 'pool:eu_1:2026-12-01:90', 1);
    expect(keys(await store.ofClient(1, 'pool:eu_1:2026-12-01:'))).to.deep.equal(['pool:eu_1:2026-12-01:90']);
    expect(keys(await store.ofClient(1, 'pool:10%:'))).to.deep.equal([]);
    expect(keys(await store.liveOfService(10, 'pool:eu_1:'))).to.deep.equal([]);
  });

  it('reads the notices of 1 201 services (in chunks of 500), and of no services nothing', async () => {
    // 500 + 500 + 201 = 1 201 services, one notice each; service 2 000 has one too, not asked for
    const ids = Array.from({ length: 1201 }, (_, i) => 100 + i);
    await insertChunked(
      knex,
      TABLES.notices,
      [...ids, 2000].map((id) => ({
        service_id: id,
        client_id: 1,
        kind: 'threshold',
        notice_key: 'period:1:80',
        status: 'sent',
        details: null,
        created_at: '2026-12-05 22:00:00.000',
      })),
    );
    const found = await store.ofServices(ids);
    expect(found.length).to.equal(1201);
    expect(found.every((n) => n.details === null)).to.equal(true);
    expect(await store.ofServices([])).to.deep.equal([]);
  });

  it("leaves another kind's notices alone (the upgrade suggestions share the table)", async () => {
    await knex(TABLES.notices).insert({
      service_id: 10,
      client_id: 1,
      kind: 'upgrade_suggestion',
      notice_key: 'period:5:80',
      status: 'pending',
      details: '{}',
      created_at: '2026-12-05 22:00:00.000',
    });
    expect(await store.owed()).to.deep.equal([]);
    expect(await store.ofServices([10])).to.deep.equal([]);
    // a threshold notice under the same key is its own row
    expect((await pending(10, 'period:5:80')).status).to.equal('pending');
  });

  it('refuses a notice whose status or facts were written by hand, naming the column', async () => {
    const a = await pending(10, 'period:5:80');
    await knex(TABLES.notices).where({ id: a.id }).update({ status: 'lost' });
    const err = await refusal(store.get(a.id));
    expect([err?.code, err?.message]).to.deep.equal([
      'UNEXPECTED_STATE',
      'mod_overusage_notices.status holds "lost", which is not one of pending, sending, sent, failed, expired, superseded',
    ]);
    const b = await pending(11, 'period:6:80');
    await knex(TABLES.notices).where({ id: b.id }).update({ details: '{"pct":' });
    const bad = await refusal(store.get(b.id));
    expect([bad?.code, bad?.message, bad?.details]).to.deep.equal([
      'UNEXPECTED_STATE',
      'mod_overusage_notices.details holds "{\\"pct\\":", which is not JSON',
      { column: 'mod_overusage_notices.details', value: '{"pct":' },
    ]);
  });
});
