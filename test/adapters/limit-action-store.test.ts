import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import {
  createLimitActionStore,
  type LimitActionStore,
  type NewLimitAction,
} from '../../module/adapters/limit-action-store.js';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { TABLES } from '../../module/adapters/tables.js';
import type { ModuleError } from '../../module/domain/errors.js';
import { describeEachEngine } from '../support/engines.js';

const AT = DateTime.fromISO('2013-05-20T21:50:00.000Z', { zone: 'utc' });
// 2^53 + 1 bytes: a Number would read 9 007 199 254 740 992
const PAST_2_53 = 9_007_199_254_740_993n;

const action = (over: Partial<NewLimitAction> = {}): NewLimitAction => ({
  serviceId: 10,
  clientId: 1,
  periodId: 7,
  action: 'suspend',
  actionKey: 'period:7:suspend:5000000000000',
  masterId: 2,
  serverRef: '101',
  allowanceBytes: 5_000_000_000_000n,
  usedBytes: 5_000_000_000_001n,
  ...over,
});

const failure = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => e as ModuleError,
  );

describeEachEngine('limit action store', ({ db }) => {
  let knex: Knex;
  let store: LimitActionStore;

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    store = createLimitActionStore(knex);
  });
  beforeEach(async () => {
    await knex(TABLES.limitActions).delete();
  });

  it('decides an action once per key and gives the new row its id, with bytes past 2^53 exact', async () => {
    const id = await store.insertIfNew(knex, action({ usedBytes: PAST_2_53 }), AT);
    expect(id).to.be.a('number');
    expect(await store.insertIfNew(knex, action(), AT.plus({ minutes: 5 }))).to.equal(null);
    const row = (await store.get(id!))!;
    expect(row).to.deep.include({
      id,
      status: 'pending',
      panelState: 'none',
      attempts: 0,
      usedBytes: PAST_2_53,
      allowanceBytes: 5_000_000_000_000n,
      liftReason: null,
      speedTarget: null,
    });
    expect([row.decidedAt.toISO(), row.nextAttemptAt!.toISO()]).to.deep.equal([
      '2013-05-20T21:50:00.000Z',
      '2013-05-20T21:50:00.000Z',
    ]);
    expect((await store.byKey(10, 'period:7:suspend:5000000000000'))!.id).to.equal(id);
  });

  it('moves an action only from the status the caller read: a second worker with a stale read moves nothing', async () => {
    const id = (await store.insertIfNew(knex, action(), AT))!;
    const applied = {
      status: 'applied' as const,
      appliedAt: AT.plus({ minutes: 1 }),
      panelState: 'to_suspend' as const,
    };
    expect(await store.transition(knex, id, 'pending', applied, AT.plus({ minutes: 1 }))).to.equal(true);
    expect(
      await store.transition(knex, id, 'pending', { status: 'cancelled' }, AT.plus({ minutes: 2 })),
    ).to.equal(false);
    const speed = { version: 1 as const, customnspeed: 10 };
    expect(
      await store.transition(
        knex,
        id,
        ['pending', 'applied'],
        { status: 'lifting', speedRestore: speed },
        AT.plus({ minutes: 3 }),
      ),
    ).to.equal(true);
    const row = (await store.get(id))!;
    expect(row).to.deep.include({ status: 'lifting', panelState: 'to_suspend', speedRestore: speed });
    expect(row.updatedAt.toISO()).to.equal('2013-05-20T21:53:00.000Z');
  });

  it("follows the panel's record only from the panel state the caller read", async () => {
    const id = (await store.insertIfNew(knex, action(), AT))!;
    await store.transition(knex, id, 'pending', { panelState: 'to_suspend' }, AT);
    expect(await store.panelSynced(knex, id, 'none', 'suspended', AT)).to.equal(false);
    expect(await store.panelSynced(knex, id, 'to_suspend', 'suspended', AT.plus({ seconds: 30 }))).to.equal(
      true,
    );
    const row = (await store.get(id))!;
    expect([row.panelState, row.updatedAt.toISO()]).to.deep.equal(['suspended', '2013-05-20T21:50:30.000Z']);
  });

  it('finds the work to do, the active actions of a page and a service’s history in the order the service reads them', async () => {
    // 1 pending (service 10), 2 lifted with the panel still to restore (11), 3 lifted and done (12), 4 applied (10, next period)
    const a = (await store.insertIfNew(knex, action(), AT))!;
    const b = (await store.insertIfNew(knex, action({ serviceId: 11, actionKey: 'k11' }), AT))!;
    const c = (await store.insertIfNew(knex, action({ serviceId: 12, actionKey: 'k12' }), AT))!;
    const d = (await store.insertIfNew(knex, action({ periodId: 8, actionKey: 'k10-8' }), AT))!;
    await store.transition(knex, b, 'pending', { status: 'lifted', panelState: 'to_restore' }, AT);
    await store.transition(knex, c, 'pending', { status: 'lifted', panelState: 'restored' }, AT);
    await store.transition(knex, d, 'pending', { status: 'applied' }, AT);
    expect((await store.needingWork()).map((r) => r.id)).to.deep.equal([a, b, d]);
    expect((await store.activeFor([10, 11, 12])).map((r) => r.id).sort((x, y) => x - y)).to.deep.equal([
      a,
      d,
    ]);
    expect((await store.forService(10)).map((r) => r.id)).to.deep.equal([d, a]);
    expect((await store.forService(10, 7)).map((r) => r.id)).to.deep.equal([a]);
    // the admin's list: newest first, a page of 2, then the page before the last id shown
    expect((await store.list({ limit: 2 })).map((r) => r.id)).to.deep.equal([d, c]);
    expect((await store.list({ limit: 2, beforeId: c })).map((r) => r.id)).to.deep.equal([b, a]);
    expect((await store.list({ status: 'lifted' })).map((r) => r.id)).to.deep.equal([c, b]);
  });

  it('refuses a stored status outside the limit policy, naming its column', async () => {
    const id = (await store.insertIfNew(knex, action(), AT))!;
    await knex(TABLES.limitActions).where({ id }).update({ status: 'frozen' });
    expect((await failure(store.get(id)))!.message).to.equal(
      'mod_overusage_limit_actions.status holds "frozen", which is not one of pending, applied, observed, released, lifting, lifted, cancelled',
    );
  });

  it('refuses stored speed settings that are not JSON, naming the column', async () => {
    const id = (await store.insertIfNew(knex, action({ action: 'throttle' }), AT))!;
    await knex(TABLES.limitActions).where({ id }).update({ speed_restore: '{speed: 10' });
    const err = (await failure(store.get(id)))!;
    expect([err.code, err.message]).to.deep.equal([
      'UNEXPECTED_STATE',
      'mod_overusage_limit_actions.speed_restore holds "{speed: 10", which is not JSON',
    ]);
  });
});
