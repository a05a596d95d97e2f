import { expect } from 'chai';
import { createLogger } from '../../module/adapters/logger.js';
import { openDatabase, type Database } from '../../module/adapters/database.js';
import { createLockStore, type LockStore } from '../../module/adapters/lock-store.js';
import { toNum } from '../../module/adapters/rows.js';
import { createModule, type OverusageModule } from '../../module/index.js';
import { describeEachEngine, onNode } from '../support/engines.js';
import { buildBillingStory, closeMay, type BillingStory } from '../support/billing-story.js';
import { CLIENT_ACTOR as CLIENT, TEST_SECRET_KEY } from '../support/module-fixture.js';

const ADMIN = (id: number) => ({ type: 'admin' as const, id: String(id) });

/**
 * Writers on different nodes at once (issue 22). Under tools/galera/check.sh the three writers
 * talk to the three nodes of a Galera cluster, where two transactions touching the same row on two
 * nodes both run and the later one to certify fails at commit with a deadlock error (1213); the
 * add-on must retry it and still decide exactly one winner. On one server (and on SQLite) the same
 * tests run with three connection pools to the one database.
 *
 * The story (test/support/billing-story.ts): 6 TB used in May on a 5 TB plan at €0.50 per GB
 * over: one line of 1 000 GB × €0.50 = €500.00 on the renewal invoice of 2 June, whose hosting is
 * €19.95, so the invoice totals €519.95.
 */
describeEachEngine('writers on different nodes at once', ({ db, engine }) => {
  let s: BillingStory;
  let peers: Database[] = [];
  /** the module on node 1 (the story's), 2 and 3 */
  let mods: OverusageModule[] = [];
  /** what the modules on nodes 2 and 3 logged at warn and above (a hook never throws: it logs) */
  let logged: string[] = [];

  beforeEach(async function () {
    this.timeout(60_000);
    s = await buildBillingStory(db().knex);
    await closeMay(s);
    // SQLite has one writer per file: a second pool would only wait on the first
    peers = engine === 'mysql' ? [1, 2].map((k) => openDatabase(onNode(db().url, k))) : [];
    logged = [];
    const log = createLogger({ level: 'warn', write: (line) => logged.push(line) });
    mods = [
      s.mod,
      ...peers.map((p) =>
        createModule({
          knex: p.knex,
          clock: s.f.clock,
          secretKey: TEST_SECRET_KEY,
          zone: 'Europe/Brussels',
          gatewayFor: () => s.fake.gateway(),
          panel: s.faulty.api(),
          log,
          metering: { writer: 'inline' },
        }),
      ),
    ];
    while (mods.length < 3) mods.push(s.mod);
  });

  afterEach(async () => {
    for (const m of mods.slice(1)) if (m !== s.mod) await m.close();
    for (const p of peers) await p.close();
    peers = [];
  });

  async function renewalInvoiceId(): Promise<number> {
    // 2 June 09:00 in Brussels: the panel makes the renewal invoice for 9 June (7 days ahead); the
    // story's module places the line from the panel's own InvoiceCreation delivery
    s.f.clock.set('2013-06-02T07:00:00Z');
    await s.f.panel.runDailyAutomation('2013-06-02');
    const row = await db()
      .knex('tblinvoiceitems')
      .where({ type: 'Hosting', relid: s.story.serviceId })
      .orderBy('id', 'desc')
      .first('invoiceid');
    return toNum(row.invoiceid);
  }

  it('a lease asked for by nine writers on three nodes at once, 50 rounds: one holder each round, and the row names it', async function () {
    this.timeout(60_000);
    // three contenders per node, nine in all: enough that a node's insert loses certification
    // twice in a row (the server retries an autocommit statement once, then says 1213)
    const knexes = [db().knex, ...peers.map((p) => p.knex)];
    const stores: LockStore[] = Array.from({ length: 9 }, (_, k) =>
      createLockStore(knexes[k % knexes.length]!),
    );
    for (let round = 1; round <= 50; round++) {
      const owners = stores.map(
        (_, k) => `galera-check:${1000 + k}:${round.toString(16).padStart(2, '0')}0${k}`,
      );
      const results = await Promise.all(
        stores.map((st, k) => st.acquire('galera:check', owners[k]!, 60_000)),
      );
      const won = results.map((r, k) => (r.acquired ? k : -1)).filter((k) => k >= 0);
      expect(won, `round ${round}`).to.have.length(1);
      // A loser never names itself. It may name the last round's holder, or nobody: a node that
      // does not read causally (wsrep_sync_wait=0) can still show the row the winner's node has
      // already deleted and replaced. Only the commit decides, and it decided one holder.
      results.forEach((r, k) => {
        if (!r.acquired) expect(r.heldBy, `round ${round}`).to.not.equal(owners[k]);
      });
      // node 1 reads causally: the row names the winner
      const row = await db().knex('mod_overusage_locks').where({ name: 'galera:check' }).first('owner');
      expect(row.owner, `round ${round}`).to.equal(owners[won[0]!]);
      await stores[won[0]!]!.release('galera:check', owners[won[0]!]!);
    }
  });

  it('InvoiceCreation delivered 30 times at once through three nodes: one €500.00 line, the invoice €519.95', async function () {
    this.timeout(120_000);
    const invoiceId = await renewalInvoiceId();
    // the panel's own delivery already placed it; 30 more, 10 per node, all at once
    const deliveries = Array.from({ length: 30 }, (_, i) => {
      const hook = mods[i % 3]!.addon.hooks().find((h) => h.name === 'InvoiceCreation')!;
      return hook.handler({ invoiceid: invoiceId, source: 'autogen', user: 'system', status: 'Unpaid' });
    });
    await Promise.all(deliveries);
    // none of the 20 deliveries through nodes 2 and 3 failed (a lost certification would say so here)
    expect(logged.filter((l) => l.includes('hook.invoice_creation.failed'))).to.deep.equal([]);
    const inv = await s.f.panel.api.getInvoice(invoiceId);
    expect(
      inv.items.filter((i) => i.description.startsWith('Bandwidth overusage')).map((i) => i.amount),
    ).to.deep.equal(['500.00']);
    expect(inv.total).to.equal('519.95');
    const lines = await db().knex('mod_overusage_lines').select('status', 'invoice_id');
    expect(lines.map((l) => [l.status, toNum(l.invoice_id)])).to.deep.equal([['placed', invoiceId]]);
  });

  it('a line disputed 9 times at once through three nodes: one dispute, one held draft of €500.00, 8 told it is already disputed', async function () {
    this.timeout(120_000);
    const renewal = await renewalInvoiceId();
    const line = await db().knex('mod_overusage_lines').first('id');
    const lineId = toNum(line.id);
    s.f.clock.set('2013-06-05T10:00:00Z');
    const results = await Promise.all(
      Array.from({ length: 9 }, (_, i) =>
        mods[i % 3]!.disputes!.open({ lineId, reason: 'too much', actor: CLIENT(s.story.clientId) }),
      ),
    );
    expect(results.filter((r) => r.ok)).to.have.length(1);
    expect(results.filter((r) => !r.ok && r.code === 'ALREADY_DISPUTED')).to.have.length(8);
    expect(await db().knex('mod_overusage_disputes')).to.have.length(1);
    // the hold: the renewal keeps only the hosting, the €500.00 waits on one draft
    expect((await s.f.panel.api.getInvoice(renewal)).total).to.equal('19.95');
    const drafts = await s.f.panel.api.getInvoices({ userId: s.story.clientId, status: 'Draft' });
    expect(drafts.totalResults).to.equal(1);
    const won = results.find((r) => r.ok);
    if (!won?.ok) throw new Error('no dispute opened');
    expect((await s.f.panel.api.getInvoice(won.value.heldInvoiceId!)).total).to.equal('500.00');
  });

  it('a dispute resolved by three admins on three nodes at once: one decision stands, the others are refused', async function () {
    this.timeout(120_000);
    await renewalInvoiceId();
    const line = await db().knex('mod_overusage_lines').first('id');
    s.f.clock.set('2013-06-05T10:00:00Z');
    const opened = await s.mod.disputes!.open({
      lineId: toNum(line.id),
      reason: 'too much',
      actor: CLIENT(s.story.clientId),
    });
    if (!opened.ok) throw new Error(opened.message);
    const to = ['waived', 'upheld', 'waived'] as const;
    const results = await Promise.all(
      to.map((state, k) =>
        mods[k]!.disputes!.resolve({ disputeId: opened.value.id, to: state, actor: ADMIN(k + 1) }),
      ),
    );
    expect(results.filter((r) => r.ok)).to.have.length(1);
    // a loser that came while the winner was at work gets CONFLICT; one that came after it had
    // finished reads a decided dispute (as on one server): 'the dispute is already waived'
    for (const r of results)
      if (!r.ok) expect(r.code, r.message).to.be.oneOf(['CONFLICT', 'INVALID_TRANSITION']);
    // the dispute ends in the state its one winner chose
    const winner = results.findIndex((r) => r.ok);
    expect((await s.mod.disputes!.get(opened.value.id)).state).to.equal(to[winner]);
  });
});
