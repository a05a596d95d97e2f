import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import {
  createLockStore,
  describeHolder,
  holderIsGone,
  leaseOwner,
  ownerProcess,
  withLease,
  type LeaseHolder,
  type LockStore,
} from '../../module/adapters/lock-store.js';
import { migrateLatest } from '../../module/adapters/migrator.js';
import { TABLES } from '../../module/adapters/tables.js';
import { describeEachEngine } from '../support/engines.js';

const T0 = DateTime.fromISO('2026-12-06T10:00:00.000Z', { zone: 'utc' });
const TTL = 30_000;
const HERE = os.hostname();

/** A pid of this host whose process has certainly exited (a child that ran and was reaped). */
function goneOnThisHost(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  if (typeof child.pid !== 'number') throw new Error('could not start a child process');
  return child.pid;
}

const busy = (heldBy: string | null) => Object.assign(new Error('busy'), { heldBy });

/** The lease's pure helpers: who an owner name stands for, and whether that holder is gone. */
describe('lock store helpers', () => {
  it('reads the host and process out of an owner name, host colons included', () => {
    expect(ownerProcess('web1:4242:0a1b2c3d')).to.deep.equal({ host: 'web1', pid: 4242 });
    // the pid is the last run of digits before the random part, so an IPv6-ish host stays whole
    expect(ownerProcess('fe80::1:99:ab')).to.deep.equal({ host: 'fe80::1', pid: 99 });
  });

  it('gives no process for an owner name not of the leaseOwner form', () => {
    expect(ownerProcess('cron')).to.equal(null);
    expect(ownerProcess('web1:4242:XYZ')).to.equal(null);
    expect(ownerProcess('web1:pid:0a1b')).to.equal(null);
  });

  it('names this host and this process in a fresh owner name, unique per call', () => {
    const a = leaseOwner();
    expect(ownerProcess(a)).to.deep.equal({ host: HERE, pid: process.pid });
    expect(leaseOwner()).to.not.equal(a);
  });

  it('calls a holder gone only on this host, with a pid whose process has exited', () => {
    const dead = goneOnThisHost();
    expect(holderIsGone({ host: HERE, pid: dead })).to.equal(true);
    // the same pid on another host says nothing about that host's processes
    expect(holderIsGone({ host: 'elsewhere.example', pid: dead })).to.equal(false);
    expect(holderIsGone({ host: HERE, pid: null })).to.equal(false);
    expect(holderIsGone({ host: null, pid: dead })).to.equal(false);
    // this process and its parent are running
    expect(holderIsGone({ host: HERE, pid: process.pid })).to.equal(false);
    expect(holderIsGone({ host: HERE, pid: process.ppid })).to.equal(false);
  });

  it('describes a holder by process and host with the whole seconds left, rounded up', () => {
    const h: LeaseHolder = {
      owner: 'db2:4242:0a1b2c3d',
      host: 'db2',
      pid: 4242,
      expiresAt: T0.plus({ seconds: 29, milliseconds: 1 }),
    };
    // 29.001 s left → 30 s
    expect(describeHolder(h, T0)).to.equal('process 4242 on host db2, lease runs 30 s more unless renewed');
    expect(describeHolder({ ...h, host: HERE }, T0)).to.equal(
      'process 4242 on this host, lease runs 30 s more unless renewed',
    );
    expect(describeHolder({ ...h, pid: null }, T0)).to.equal(
      'process ? on host db2, lease runs 30 s more unless renewed',
    );
  });

  it('describes a holder without a host by its owner name, and an expired lease as 0 s', () => {
    const h: LeaseHolder = { owner: 'cron', host: null, pid: null, expiresAt: T0.minus({ seconds: 5 }) };
    expect(describeHolder(h, T0)).to.equal('cron, lease runs 0 s more unless renewed');
    expect(describeHolder(null, T0)).to.equal('nobody');
  });
});

/**
 * Leases on both engines, on an injected clock: one holder at a time, expiry, renewal, release by
 * the owner only, and take-over from a process of this host that is gone.
 */
describeEachEngine('lock store', ({ db }) => {
  let knex: Knex;
  let clock: DateTime;
  let locks: LockStore;
  const A = 'web1:1001:aaaa0001';
  const B = 'web2:2002:bbbb0002';

  before(async () => {
    knex = db().knex;
    await migrateLatest(knex);
    locks = createLockStore(knex, { now: () => clock });
  });
  beforeEach(async () => {
    await knex(TABLES.locks).delete();
    clock = T0;
  });

  it('takes the lease once when MariaDB answers its first two tries with a deadlock (a Galera certification failure), and passes a ninth on', async function () {
    if (db().engine !== 'mysql') this.skip();
    // a counter the failed statement's rollback does not give back (MyISAM keeps no transaction)
    await knex.raw('CREATE TABLE lease_failures (n INT NOT NULL) ENGINE=MyISAM');
    await knex.raw('INSERT INTO lease_failures VALUES (2)');
    await knex.raw(
      `CREATE TRIGGER lease_fails BEFORE INSERT ON ${TABLES.locks} FOR EACH ROW BEGIN
         IF (SELECT n FROM lease_failures) > 0 THEN
           UPDATE lease_failures SET n = n - 1;
           SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = 1213, MESSAGE_TEXT = 'Deadlock found when trying to get lock; try restarting transaction';
         END IF;
       END`,
    );
    try {
      // tries 1 and 2 fail, try 3 takes it: one row, A's, and the counter spent
      expect(await locks.acquire('invoice:41', A, TTL)).to.deep.include({ acquired: true, heldBy: A });
      expect(await knex(TABLES.locks).select('name', 'owner')).to.deep.equal([
        { name: 'invoice:41', owner: A },
      ]);
      expect(Number((await knex('lease_failures').first()).n)).to.equal(0);
      // 8 tries, all failing: the 1213 is the caller's, and nothing was taken
      await knex('lease_failures').update({ n: 9 });
      const err = await locks.acquire('invoice:42', B, TTL).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).to.have.property('errno', 1213);
      expect(Number((await knex('lease_failures').first()).n)).to.equal(1);
      expect(await knex(TABLES.locks).where({ name: 'invoice:42' })).to.have.length(0);
    } finally {
      await knex.raw('DROP TRIGGER IF EXISTS lease_fails');
      await knex.raw('DROP TABLE IF EXISTS lease_failures');
    }
  });

  it('gives a free lease to its first acquirer', async () => {
    expect(await locks.acquire('collect', A, TTL)).to.deep.equal({
      acquired: true,
      heldBy: A,
      holder: null,
      tookOverFrom: null,
    });
  });

  it('refuses a second acquirer and tells it who holds the lease until when', async () => {
    await locks.acquire('collect', A, TTL);
    clock = T0.plus({ seconds: 10 });
    const r = await locks.acquire('collect', B, TTL);
    expect(r.acquired).to.equal(false);
    expect(r.heldBy).to.equal(A);
    expect(r.tookOverFrom).to.equal(null);
    // taken at 10:00:00 for 30 s: runs until 10:00:30, 20 s after the refusal at 10:00:10
    expect({ ...r.holder, expiresAt: r.holder?.expiresAt.toISO() }).to.deep.equal({
      owner: A,
      host: 'web1',
      pid: 1001,
      expiresAt: '2026-12-06T10:00:30.000Z',
    });
    expect(describeHolder(r.holder, clock)).to.equal(
      'process 1001 on host web1, lease runs 20 s more unless renewed',
    );
  });

  it('keeps leases of different names apart', async () => {
    await locks.acquire('collect', A, TTL);
    expect((await locks.acquire('rate', B, TTL)).acquired).to.equal(true);
  });

  it('lets the holder acquire its own lease again, which extends it', async () => {
    await locks.acquire('collect', A, TTL);
    clock = T0.plus({ seconds: 20 });
    expect((await locks.acquire('collect', A, TTL)).acquired).to.equal(true);
    // 10:00:20 + 30 s = 10:00:50
    clock = T0.plus({ seconds: 45 });
    const r = await locks.acquire('collect', B, TTL);
    expect(r.acquired).to.equal(false);
    expect(r.holder?.expiresAt.toISO()).to.equal('2026-12-06T10:00:50.000Z');
  });

  it('still holds a lease at the very millisecond it expires, and gives it up one later', async () => {
    await locks.acquire('collect', A, TTL);
    clock = T0.plus({ milliseconds: TTL });
    expect((await locks.acquire('collect', B, TTL)).acquired).to.equal(false);
    clock = T0.plus({ milliseconds: TTL + 1 });
    // an expiry take-over is not a take-over from a dead process
    expect(await locks.acquire('collect', B, TTL)).to.deep.equal({
      acquired: true,
      heldBy: B,
      holder: null,
      tookOverFrom: null,
    });
  });

  it('hands an expired lease to the next acquirer with its own host and process', async () => {
    await locks.acquire('collect', A, TTL);
    clock = T0.plus({ seconds: 31 });
    await locks.acquire('collect', B, TTL);
    clock = T0.plus({ seconds: 32 });
    const r = await locks.acquire('collect', A, TTL);
    // B took it at 10:00:31 for 30 s: until 10:01:01
    expect({ ...r.holder, expiresAt: r.holder?.expiresAt.toISO() }).to.deep.equal({
      owner: B,
      host: 'web2',
      pid: 2002,
      expiresAt: '2026-12-06T10:01:01.000Z',
    });
  });

  it('renews a lease for the lease time from the moment of renewal', async () => {
    await locks.acquire('collect', A, TTL);
    clock = T0.plus({ seconds: 25 });
    expect(await locks.renew('collect', A, TTL)).to.equal(true);
    // renewed at 10:00:25 for 30 s: until 10:00:55, so still held at 10:00:40 (past the first 10:00:30)
    clock = T0.plus({ seconds: 40 });
    const r = await locks.acquire('collect', B, TTL);
    expect(r.acquired).to.equal(false);
    expect(r.holder?.expiresAt.toISO()).to.equal('2026-12-06T10:00:55.000Z');
  });

  it('refuses to renew a lease for anyone but its holder, and leaves it as it was', async () => {
    await locks.acquire('collect', A, TTL);
    clock = T0.plus({ seconds: 25 });
    expect(await locks.renew('collect', B, TTL)).to.equal(false);
    expect(await locks.renew('other', A, TTL)).to.equal(false);
    const r = await locks.acquire('collect', B, TTL);
    expect(r.heldBy).to.equal(A);
    expect(r.holder?.expiresAt.toISO()).to.equal('2026-12-06T10:00:30.000Z');
  });

  it('frees a lease on release by its holder', async () => {
    await locks.acquire('collect', A, TTL);
    await locks.release('collect', A);
    expect((await locks.acquire('collect', B, TTL)).acquired).to.equal(true);
  });

  it('ignores a release by anyone but the holder', async () => {
    await locks.acquire('collect', A, TTL);
    await locks.release('collect', B);
    const r = await locks.acquire('collect', B, TTL);
    expect(r.acquired).to.equal(false);
    expect(r.heldBy).to.equal(A);
  });

  it('takes over at once from a holder on this host whose process is gone', async () => {
    const dead = `${HERE}:${goneOnThisHost()}:dead0001`;
    const me = `${HERE}:${process.pid}:a11ce001`;
    await locks.acquire('collect', dead, TTL);
    // 5 s into a 30 s lease: not expired, but its process no longer runs
    clock = T0.plus({ seconds: 5 });
    expect(await locks.acquire('collect', me, TTL)).to.deep.equal({
      acquired: true,
      heldBy: me,
      holder: null,
      tookOverFrom: dead,
    });
    // now held by me, with my process, until 10:00:05 + 30 s = 10:00:35
    const r = await locks.acquire('collect', B, TTL);
    expect({ ...r.holder, expiresAt: r.holder?.expiresAt.toISO() }).to.deep.equal({
      owner: me,
      host: HERE,
      pid: process.pid,
      expiresAt: '2026-12-06T10:00:35.000Z',
    });
  });

  it('does not take over from a holder on this host whose process still runs', async () => {
    const parent = `${HERE}:${process.ppid}:a11ce002`;
    await locks.acquire('collect', parent, TTL);
    const r = await locks.acquire('collect', `${HERE}:${process.pid}:a11ce003`, TTL);
    expect(r.acquired).to.equal(false);
    expect(r.heldBy).to.equal(parent);
  });

  it('does not take over from a holder on another host, whatever its pid', async () => {
    const far = `elsewhere.example:${goneOnThisHost()}:fa000001`;
    await locks.acquire('collect', far, TTL);
    const r = await locks.acquire('collect', `${HERE}:${process.pid}:a11ce004`, TTL);
    expect(r.acquired).to.equal(false);
    expect(r.heldBy).to.equal(far);
  });

  it('counts the unexpired leases an owner holds, up to the millisecond of expiry', async () => {
    await locks.acquire('collect', A, TTL);
    clock = T0.plus({ seconds: 10 });
    await locks.acquire('rate', A, TTL);
    await locks.acquire('notify', B, TTL);
    expect(await locks.countHeldBy(A)).to.equal(2);
    // collect runs until 10:00:30, rate until 10:00:40
    clock = T0.plus({ seconds: 30 });
    expect(await locks.countHeldBy(A)).to.equal(2);
    clock = T0.plus({ seconds: 30, milliseconds: 1 });
    expect(await locks.countHeldBy(A)).to.equal(1);
    expect(await locks.countHeldBy('nobody:1:00')).to.equal(0);
  });

  it('runs the work under the lease and releases it when the work succeeds', async () => {
    const opts = { ttlMs: TTL, waitMs: 0, busy };
    const seen = await withLease(locks, 'collect', opts, async () => {
      // while the work runs the lease is held by this host and process
      const r = await locks.acquire('collect', B, TTL);
      return [r.acquired, r.holder?.host, r.holder?.pid];
    });
    expect(seen).to.deep.equal([false, HERE, process.pid]);
    expect((await locks.acquire('collect', B, TTL)).acquired).to.equal(true);
  });

  it('releases the lease when the work throws, and passes the error on', async () => {
    const boom = new Error('panel down');
    const err = await withLease(locks, 'collect', { ttlMs: TTL, waitMs: 0, busy }, async () => {
      throw boom;
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.equal(boom);
    expect((await locks.acquire('collect', B, TTL)).acquired).to.equal(true);
  });

  it('gives up at once with the busy error when another holds the lease and there is no wait', async () => {
    await locks.acquire('collect', A, TTL);
    let ran = false;
    const err = await withLease(locks, 'collect', { ttlMs: TTL, waitMs: 0, busy }, async () => {
      ran = true;
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.include({ message: 'busy', heldBy: A });
    expect(ran).to.equal(false);
    // the holder keeps its lease
    expect((await locks.acquire('collect', B, TTL)).heldBy).to.equal(A);
  });

  // the statements sent, as [transaction id or null, first words]
  const watch = () => {
    const sent: Array<[string | null, string]> = [];
    const listen = (q: { sql: string; __knexTxId?: string }) =>
      sent.push([q.__knexTxId ?? null, q.sql.replace(/\s+/g, ' ').slice(0, 30).toLowerCase()]);
    knex.on('query', listen);
    return { sent, stop: () => knex.removeListener('query', listen) };
  };

  it("lets the lease go in the work's last transaction, with no release of its own after", async () => {
    const w = watch();
    try {
      await withLease(locks, 'invoice:7', { ttlMs: TTL, waitMs: 0, busy }, async (lease) => {
        await knex.transaction(async (trx) => {
          await trx(TABLES.locks).where({ name: 'nothing' }).first();
          await lease.releaseIn(trx);
          // inside the transaction the lease is gone; outside, until the commit, it is not
          expect(await trx(TABLES.locks).where({ name: 'invoice:7' }).first()).to.equal(undefined);
        });
      });
    } finally {
      w.stop();
    }
    expect((await locks.acquire('invoice:7', B, TTL)).acquired).to.equal(true);
    const deletes = w.sent.filter(([, sql]) => sql.startsWith('delete'));
    // one delete, sent in the transaction: none on its own connection after the work
    expect(deletes).to.have.length(1);
    expect(deletes[0]![0]).to.be.a('string');
  });

  it('still lets the lease go after the work when the transaction it was let go in rolls back', async () => {
    const boom = new Error('audit write failed');
    const err = await withLease(locks, 'invoice:8', { ttlMs: TTL, waitMs: 0, busy }, async (lease) => {
      await knex.transaction(async (trx) => {
        await lease.releaseIn(trx);
        throw boom;
      });
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.equal(boom);
    expect((await locks.acquire('invoice:8', B, TTL)).acquired).to.equal(true);
  });
});
