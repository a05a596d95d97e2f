import { expect } from 'chai';
import type { Knex } from 'knex';
import { toBig, toNum } from '../../module/adapters/rows.js';
import type { OverusageModule } from '../../module/index.js';
import { evidenceJson } from '../../module/services/evidence.js';
import { describeEachEngine } from '../support/engines.js';
import { readable } from '../support/readable.js';
import type { PoolPeriodView } from '../../module/services/pools.js';
import { buildPoolWorld } from '../support/pool-world.js';
import type { FakeMaster } from '../support/fake-gateway.js';
import { CLI_ACTOR } from '../support/module-fixture.js';
import type { PanelFixture, Story } from '../panel/support.js';

const GB = 10n ** 9n;

/*
 * A transfer pool through the whole module: metered by a SolusVM stand-in, rated when October 2026
 * ends, its one line placed on the anchor's renewal invoice, on SQLite and MariaDB.
 *
 * Ann has three VPSs in pool "main", priced €0.50 per GB:
 *  - A (VPS 1 TB), registered in January, renewing on 9 November: the whole month, 745 hours.
 *  - C (VPS 1 TB), cancelled on 10 October at 12:30 CEST (10:30Z): 229 started hours.
 *  - B (VPS 2 TB), registered on 16 October: from 16 October 00:00 CEST, 385 hours.
 * Counters (bytes since SolusVM's reset on the 1st), read each day at 21:50Z:
 *   A: 1 Oct 100 GB, 9 Oct 800 GB, 16 Oct 1 000 GB, 31 Oct 2 500 GB, 1 Nov 20 GB (reset)
 *   C: 1 Oct 50 GB, 9 Oct 400 GB, then cancelled (not read again)
 *   B: 16 Oct 100 GB (its first read: the traffic since the 1st, of its days), 31 Oct 500 GB, 1 Nov 10 GB
 * So October: A 2 500 GB, B 500 GB, C 400 GB — the figures of test/domain/pools.test.ts:
 * shares 1 000 000 000 000 + 1 033 557 046 980 + 307 382 550 336 = 2 340 939 597 316 B,
 * over 3 400 000 000 000 − 2 340 939 597 316 = 1 059 060 402 684 B × €0.50/GB = €529.530… → €529.53.
 * A on its own would be over by 1 500 GB (€750.00), C by 92 617 449 664 B (€46.31): €796.31 unpooled.
 */
describeEachEngine("transfer pools: rated once, billed once on the anchor's renewal invoice", ({ db }) => {
  let knex: Knex;
  let f: PanelFixture;
  let story: Story;
  let mod: OverusageModule;
  let fake: FakeMaster;
  let a: number;
  let b: number;
  let c: number;
  let masterId: number;

  beforeEach(async () => {
    knex = db().knex;
    const w = await buildPoolWorld(knex, {
      start: '2026-10-01T08:00:00Z',
      settings: { CreateInvoiceDaysBefore: '7' },
      regdate: '2026-01-09',
      nextduedate: '2026-11-09',
      vps: [
        { domain: 'vps3.example.net', nextduedate: '2026-11-01' },
        {
          domain: 'vps4.example.net',
          product: 'VPS 2 TB',
          regdate: '2026-10-16',
          nextduedate: '2026-11-16',
          amount: '29.95',
        },
      ],
    });
    ({ f, story, mod, fake, masterId } = w);
    const big = w.products['VPS 2 TB']!;
    a = story.serviceId;
    [c, b] = w.vps as [number, number];
    const prices = { EUR: { overage: '0.50' } };
    await mod.billing.setProduct(
      story.productId,
      { unit: 'GB', model: 'per_unit', allowance: '1 TB', prices, pool: 'main' },
      CLI_ACTOR,
    );
    await mod.billing.setProduct(
      big,
      { unit: 'GB', model: 'per_unit', allowance: '2 TB', prices, pool: 'main' },
      CLI_ACTOR,
    );
    await mod.links.link(
      {
        serviceId: a,
        clientId: story.clientId,
        productId: story.productId,
        masterId,
        serverRef: '101',
        currency: 'EUR',
        regdate: '2026-01-09',
      },
      CLI_ACTOR,
    );
    await mod.links.link(
      {
        serviceId: c,
        clientId: story.clientId,
        productId: story.productId,
        masterId,
        serverRef: '103',
        currency: 'EUR',
        regdate: '2026-03-01',
      },
      CLI_ACTOR,
    );
    await mod.pools.syncMembers();

    const read = async (at: string, counters: Record<string, bigint>) => {
      f.clock.set(at);
      for (const [ref, v] of Object.entries(counters)) fake.set(ref, v);
      await mod.metering.collect();
    };
    await read('2026-10-01T21:50:00Z', { '101': 100n * GB, '103': 50n * GB });
    await read('2026-10-09T21:50:00Z', { '101': 800n * GB, '103': 400n * GB });
    // C is cancelled at 12:30 in Brussels
    f.clock.set('2026-10-10T10:30:00Z');
    await mod.links.setActive(c, false, CLI_ACTOR);
    await mod.pools.syncMembers();
    // B is ordered on the 16th
    f.clock.set('2026-10-16T08:00:00Z');
    await mod.links.link(
      {
        serviceId: b,
        clientId: story.clientId,
        productId: big,
        masterId,
        serverRef: '104',
        currency: 'EUR',
        regdate: '2026-10-16',
      },
      CLI_ACTOR,
    );
    await mod.pools.syncMembers();
    await read('2026-10-16T21:50:00Z', { '101': 1000n * GB, '104': 100n * GB });
    await read('2026-10-31T21:50:00Z', { '101': 2500n * GB, '104': 500n * GB });
    await read('2026-11-01T21:50:00Z', { '101': 20n * GB, '104': 10n * GB });
  });

  const overusageItems = (inv: { items: Array<{ description: string; amount: string }> }) =>
    inv.items.filter((i) => i.description.startsWith('Bandwidth overusage'));

  it("records each member's span to the hour: joined, cancelled, and joined mid-month", async () => {
    const rows = await knex('mod_overusage_pool_members')
      .orderBy('service_id')
      .select('service_id', 'pool_key', 'joined_at', 'left_at');
    const iso = (v: unknown) =>
      v === null
        ? null
        : String(v instanceof Date ? v.toISOString() : v)
            .replace(' ', 'T')
            .slice(0, 16);
    expect(
      rows.map((r) => [toNum(r.service_id), r.pool_key, iso(r.joined_at), iso(r.left_at)]),
    ).to.deep.equal([
      [a, 'main', '2026-01-08T23:00', null], // 9 Jan 00:00 CET
      [c, 'main', '2026-02-28T23:00', '2026-10-10T10:30'], // 1 Mar 00:00 CET; cancelled 12:30 CEST
      [b, 'main', '2026-10-15T22:00', null], // 16 Oct 00:00 CEST
    ]);
  });

  describe("October rated once with exact figures, one line of €529.53 on A's renewal invoice", () => {
    let period: PoolPeriodView | undefined;
    let byService: Map<number, NonNullable<typeof period>['members'][number]>;
    const renewalOfA = async () => {
      const item = await knex('tblinvoiceitems')
        .where({ type: 'Hosting', relid: a })
        .orderBy('id', 'desc')
        .first('invoiceid');
      return f.panel.api.getInvoice(toNum(item.invoiceid));
    };

    beforeEach(async () => {
      // 2 November: the renewal invoice for 9 November is generated (7 days ahead) and gets the line
      f.clock.set('2026-11-02T07:00:00Z');
      await f.panel.runDailyAutomation('2026-11-02');
      [period] = readable(await mod.pools.poolPeriods(story.clientId));
      byService = new Map(period!.members.map((m) => [m.serviceId, m]));
    });

    it('rates the month on A, 745 hours: 2 340 939 597 316 B included, 3 400 GB used, 1 059 060 402 684 B over, €529.53', () => {
      expect(period).to.deep.include({
        pool: 'main',
        start: '2026-10-01',
        end: '2026-10-31',
        currency: 'EUR',
        periodHours: 745,
        anchorServiceId: a,
      });
      expect([
        period!.allowanceBytes,
        period!.usedBytes,
        period!.overBytes,
        period!.amountMinor,
      ]).to.deep.equal([2_340_939_597_316n, 3_400_000_000_000n, 1_059_060_402_684n, 52953n]);
    });

    it("keeps each member's hours, share and use", () => {
      expect(
        [a, b, c].map((id) => [
          byService.get(id)!.hours,
          byService.get(id)!.shareBytes,
          byService.get(id)!.usedBytes,
        ]),
      ).to.deep.equal([
        [745, 1_000_000_000_000n, 2500n * GB],
        [385, 1_033_557_046_980n, 500n * GB],
        [229, 307_382_550_336n, 400n * GB],
      ]);
    });

    it("keeps each member's days for the evidence: C's 1–10 October, B's 16–31", () => {
      expect(byService.get(c)!.days).to.have.length(10);
      expect(byService.get(b)!.days[0]).to.equal('2026-10-16');
      expect(byService.get(b)!.days).to.have.length(16);
    });

    it('splits the money back: 997 471 554 993 B and €498.74 on A, 61 588 847 691 B and €30.79 on C', () => {
      // test/domain/pools.test.ts
      expect(
        [a, b, c].map((id) => [byService.get(id)!.billedOverBytes, byService.get(id)!.amountMinor]),
      ).to.deep.equal([
        [997_471_554_993n, 49874n],
        [0n, 0n],
        [61_588_847_691n, 3079n],
      ]);
    });

    it("puts one line of €529.53 on A's renewal, in GB: 1,059.06 GB × €0.50", async () => {
      const lines = overusageItems(await renewalOfA());
      expect(lines.map((l) => l.amount)).to.deep.equal(['529.53']);
      // in GB, the unit sold: 3 400.00 used, 2 340.939597316 → 2 340.94 included, 1 059.060402684 → 1 059.06 over;
      // 1 059.06 × €0.50 = €529.53, the amount (exact 529.530201342 → €529.53)
      expect(lines[0]!.description).to.match(
        /^Bandwidth overusage 1 – 31 October 2026: 3,400\.00 GB used, 2,340\.94 GB included, 1,059\.06 GB × €0\.50 = €529\.53 \(dispute by/,
      );
    });

    it("rates A's and B's own October periods as evidence only: pooled, not billed", async () => {
      const own = await knex('mod_overusage_charges')
        .whereIn('service_id', [a, b])
        .andWhere('kind', 'usage')
        .andWhere('period_start', '2026-10-01')
        .orderBy('service_id');
      expect(own.map((x) => [toNum(x.service_id), x.status, toBig(x.amount_minor)])).to.deep.equal([
        [a, 'pooled', 0n],
        [b, 'pooled', 0n],
      ]);
    });

    it('changes nothing when rated again and the invoice hook is delivered again: one pool charge, one line', async () => {
      const inv = await renewalOfA();
      await mod.pools.ratePools();
      await f.panel.hooks.run('InvoiceCreation', {
        invoiceid: inv.invoiceId,
        source: 'autogen',
        user: 'system',
        status: 'Unpaid',
      });
      const pool = await knex('mod_overusage_charges').where({ kind: 'pool' });
      expect(
        pool.map((x) => [toNum(x.service_id), x.status, toBig(x.amount_minor), toBig(x.over_bytes)]),
      ).to.deep.equal([[a, 'billed', 52953n, 1_059_060_402_684n]]);
      expect(overusageItems(await f.panel.api.getInvoice(inv.invoiceId))).to.have.length(1);
      expect(await knex('mod_overusage_lines')).to.have.length(1);
    });

    it("gives Ann the evidence: each member's hours and days, and the members' days summing to the pool's 3 400 GB", async () => {
      const line = await knex('mod_overusage_lines').first('id');
      const e = await mod.evidence.forLine(toNum(line.id), { clientId: story.clientId });
      expect(e.period).to.deep.include({
        startDate: '2026-10-01',
        endDate: '2026-10-31',
        usedBytes: 3_400_000_000_000n,
      });
      expect(e.days.reduce((sum, d) => sum + d.bytes, 0n)).to.equal(3_400_000_000_000n);
      expect(e.pool!.members.map((m) => [m.serviceId, m.hours, m.days.length])).to.deep.equal([
        [a, 745, 31],
        [c, 229, 10],
        [b, 385, 16],
      ]);
      expect(e.rated.overBytes).to.equal(1_059_060_402_684n);
    });

    it("gives nobody else the pool's evidence", async () => {
      const line = await knex('mod_overusage_lines').first('id');
      const other = await mod.evidence
        .forLine(toNum(line.id), { clientId: story.dutchClientId })
        .catch((err: unknown) => err as { code: string });
      expect((other as { code: string }).code).to.equal('NOT_FOUND');
    });
  });

  /*
   * The same October billed as a line per VPS (poolLines 'per_service' on the anchor's product):
   * the €529.53 split by what each used over its share — A 1 500 000 000 000 B, C 92 617 449 664 B,
   * B nothing (1 592 617 449 664 B in all):
   *   A 52 953 × 1 500 000 000 000 ÷ 1 592 617 449 664 = 49 873.56…, C 52 953 × 92 617 449 664 ÷ … = 3 079.43…
   *   floors 49 873 + 3 079 = 52 952; the one cent left goes to the larger remainder (A, .56):
   *   A €498.74 + C €30.79 = €529.53 exactly; B, with no part, gets no line.
   * Both lines go on A's renewal invoice (C was cancelled), each naming its VPS.
   */
  it("bills the pool as a line per VPS by setting: parts in exact cents that sum to the pool's charge", async () => {
    await mod.billing.setProduct(
      story.productId,
      {
        unit: 'GB',
        model: 'per_unit',
        allowance: '1 TB',
        prices: { EUR: { overage: '0.50' } },
        pool: 'main',
        poolLines: 'per_service',
      },
      CLI_ACTOR,
    );
    f.clock.set('2026-11-02T07:00:00Z');
    await f.panel.runDailyAutomation('2026-11-02');
    const [period] = readable(await mod.pools.poolPeriods(story.clientId));
    expect(period!.amountMinor).to.equal(52953n);
    const charges = await knex('mod_overusage_charges').where({ kind: 'pool' }).orderBy('seq');
    expect(
      charges.map((x) => [
        toNum(x.service_id),
        toNum(x.seq),
        toBig(x.amount_minor),
        toBig(x.over_bytes),
        x.status,
      ]),
    ).to.deep.equal([
      [a, 1, 49874n, 997_471_554_993n, 'billed'],
      [c, 2, 3079n, 61_588_847_691n, 'billed'],
    ]);
    expect(charges.reduce((sum, x) => sum + toBig(x.amount_minor), 0n)).to.equal(52953n);
    // both go on A's renewal invoice (C, cancelled, renews no more: the client's next invoice takes its charge), each naming its VPS
    const item = await knex('tblinvoiceitems')
      .where({ type: 'Hosting', relid: a })
      .orderBy('id', 'desc')
      .first('invoiceid');
    const lines = overusageItems(await f.panel.api.getInvoice(toNum(item.invoiceid)));
    expect(lines.map((l) => l.amount)).to.deep.equal(['498.74', '30.79']);
    // the parts in GB too: 997 471 554 993 B → 997.47 GB, 61 588 847 691 B → 61.59 GB
    expect(lines[0]!.description).to.match(
      /^Bandwidth overusage 1 – 31 October 2026, transfer pool main: 3,400\.00 GB used, 2,340\.94 GB included, 1,059\.06 GB × €0\.50 = €529\.53; the part of vps1\.example\.net: 997\.47 GB, €498\.74 of €529\.53 \(dispute by/,
    );
    expect(lines[1]!.description).to.match(
      /; the part of vps3\.example\.net: 61\.59 GB, €30\.79 of €529\.53 \(dispute by/,
    );
    // rating again adds nothing
    await mod.pools.ratePools();
    expect(await knex('mod_overusage_charges').where({ kind: 'pool' })).to.have.length(2);
  });

  /*
   * The same parts, A's disputed and re-rated at the rate agreed in advance (€0.35): the pool's
   * 1 059 060 402 684 B × €0.35/GB = €370.671… → €370.67, split again by the same weights:
   *   A 37 067 × 1 500 000 000 000 ÷ 1 592 617 449 664 = 34 911.40…, C 37 067 × 92 617 449 664 ÷ … = 2 155.60…
   *   floors 34 911 + 2 155 = 37 066; the cent left goes to C (.60 > .40): A €349.11, C €21.56.
   * A's line bills €349.11 (not the pool's €370.67) and says "€349.11 of €370.67"; C's is untouched.
   */
  describe("A's part disputed and re-rated at the agreed rate", () => {
    let lineA: number;
    let disputeId: number;
    const lineRows = () =>
      knex('mod_overusage_lines').orderBy('id').select('service_id', 'amount_minor', 'description');

    beforeEach(async () => {
      const prices = { EUR: { overage: '0.50', precommit: '0.35' } };
      await mod.billing.setProduct(
        story.productId,
        { unit: 'GB', model: 'per_unit', allowance: '1 TB', prices, pool: 'main', poolLines: 'per_service' },
        CLI_ACTOR,
      );
      f.clock.set('2026-11-02T07:00:00Z');
      await f.panel.runDailyAutomation('2026-11-02');
      lineA = toNum((await knex('mod_overusage_lines').where({ service_id: a }).first('id')).id);
      f.clock.set('2026-11-03T10:00:00Z');
      const opened = await mod.disputes!.open({
        lineId: lineA,
        reason: 'Most of this was a backup.',
        actor: { type: 'client', id: String(story.clientId) },
      });
      if (!opened.ok) throw new Error(opened.message);
      disputeId = opened.value.id;
      f.clock.set('2026-11-05T09:00:00Z');
      const decided = await mod.disputes!.resolve({
        disputeId,
        to: 'adjusted',
        actor: { type: 'admin', id: '1' },
        adjustment: { kind: 'precommit' },
      });
      if (!decided.ok) throw new Error(decided.message);
    });

    it("A's line bills €349.11 and says €349.11 of €370.67 at the agreed rate; C's line is untouched", async () => {
      const lines = await lineRows();
      expect(lines.map((l) => [toNum(l.service_id), toBig(l.amount_minor)])).to.deep.equal([
        [a, 34911n],
        [c, 3079n],
      ]);
      expect(lines[0]!.description).to.match(
        /1,059\.06 GB × €0\.35 \(agreed rate\) = €370\.67; the part of vps1\.example\.net: 997\.47 GB, €349\.11 of €370\.67 \(dispute by/,
      );
      expect(lines[0]!.description).not.to.match(/€0\.50|€498\.74|€529\.53/);
      expect(lines[1]!.description).to.match(
        /× €0\.50 = €529\.53; the part of vps3\.example\.net: 61\.59 GB, €30\.79 of €529\.53/,
      );
    });

    it('the invoice the client reads bills A €349.11 with the same text', async () => {
      const [lineOfA] = await lineRows();
      const d = (await mod.disputes!.get(disputeId))!;
      const inv = await f.panel.api.getInvoice(d.heldInvoiceId ?? d.originalInvoiceId);
      const item = inv.items.find((i) => i.description === lineOfA!.description)!;
      expect(item.amount).to.equal('349.11');
    });

    it("the client's email tells the reduction from €498.74 to €349.11 and the new part", async () => {
      const mail = await knex('tblemails')
        .where({ userid: story.clientId })
        .andWhere('subject', 'like', '%dispute%')
        .orderBy('id', 'desc')
        .first('message');
      expect(String(mail.message)).to.include('is reduced from €498.74 to €349.11');
      expect(String(mail.message)).to.include('€349.11 of €370.67');
    });

    it("the evidence names the line's new amount and text", async () => {
      const [lineOfA] = await lineRows();
      const e = await mod.evidence.forLine(lineA, { clientId: story.clientId });
      expect([e.line.amountMinor, e.line.description]).to.deep.equal([34911n, lineOfA!.description]);
    });

    /*
     * The evidence's members table: what each member's line bills now. A's line €349.11 (decided),
     * C's still €30.79 (its line was not disputed), B none (no part, no line: €0.00), in the JSON the
     * client downloads as in the evidence read by the pages.
     */
    it("the evidence's pool members show A's part at €349.11, C's at €30.79 and B's at nothing", async () => {
      const e = await mod.evidence.forLine(lineA, { clientId: story.clientId });
      const parts = new Map(e.pool!.members.map((m) => [m.serviceId, m.amountMinor]));
      expect([parts.get(a), parts.get(b), parts.get(c)]).to.deep.equal([34911n, 0n, 3079n]);
      const json = JSON.parse(evidenceJson(e)) as {
        pool: { members: Array<{ serviceId: number; amountMinor: string }> };
      };
      const jsonParts = new Map(json.pool.members.map((m) => [m.serviceId, m.amountMinor]));
      expect([jsonParts.get(a), jsonParts.get(b), jsonParts.get(c)]).to.deep.equal(['34911', '0', '3079']);
    });

    /*
     * The evidence's rating is the one the line bills: the pool's 1 059 060 402 684 B over at the
     * agreed €0.35 = €370.671… → €370.67; the rating first billed (€0.50 = €529.53) beside it.
     */
    it("the evidence's rating is the agreed rate's (€0.35, €370.67), with the first (€0.50, €529.53) beside it", async () => {
      const e = await mod.evidence.forLine(lineA, { clientId: story.clientId });
      expect([e.rated.rate, e.rated.overBytes, e.rated.amountMinor]).to.deep.equal([
        '0.35',
        1_059_060_402_684n,
        37067n,
      ]);
      expect([e.ratedBeforeDecision?.rate, e.ratedBeforeDecision?.amountMinor]).to.deep.equal([
        '0.50',
        52953n,
      ]);
    });

    it("C's evidence keeps the first rating (€0.50, €529.53): its line was not decided", async () => {
      const lineC = toNum((await knex('mod_overusage_lines').where({ service_id: c }).first('id')).id);
      const e = await mod.evidence.forLine(lineC, { clientId: story.clientId });
      expect([e.rated.rate, e.rated.amountMinor, e.ratedBeforeDecision]).to.deep.equal([
        '0.50',
        52953n,
        undefined,
      ]);
    });
  });

  it('once every member left, the months after are not due: no run (PreCronJob, a delivery) looks for them again', async () => {
    // A and B are cancelled on 20 November (C left on 10 October): the pool has no member after it
    f.clock.set('2026-11-20T10:00:00Z');
    await mod.links.setActive(a, false, CLI_ACTOR);
    await mod.links.setActive(b, false, CLI_ACTOR);
    await mod.pools.syncMembers();
    // 5 January: October and November ended with members in them; December had none
    f.clock.set('2027-01-05T07:00:00Z');
    expect(await mod.pools.anyMonthDue()).to.equal(true);
    expect((await mod.pools.ratePools()).rated).to.equal(2);
    expect(
      readable(await mod.pools.poolPeriods(story.clientId))
        .map((p) => p.start)
        .sort(),
    ).to.deep.equal(['2026-10-01', '2026-11-01']);
    expect(await mod.pools.anyMonthDue()).to.equal(false);
    expect(await mod.pools.anyMonthDue({ serviceIds: [a] })).to.equal(false);
  });

  it('refuses to rate a pool whose members pay in two currencies, and says so', async () => {
    await knex('mod_overusage_services').where({ service_id: b }).update({ currency: 'USD' });
    f.clock.set('2026-11-02T07:00:00Z');
    const out = await mod.pools.ratePools();
    expect(out.rated).to.equal(0);
    expect(out.skipped).to.deep.equal([
      {
        clientId: story.clientId,
        pool: 'main',
        start: '2026-10-01',
        reason: 'a pool holds services of one currency; this one has EUR and USD',
      },
    ]);
    expect(await knex('mod_overusage_charges').where({ kind: 'pool' })).to.deep.equal([]);
    expect(await knex('mod_overusage_pool_periods')).to.deep.equal([]);
  });
});
