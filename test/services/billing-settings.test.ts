import { expect } from 'chai';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, closeMay } from '../support/billing-story.js';
import { CLI_ACTOR as CLI } from '../support/module-fixture.js';

describeEachEngine('billing settings with service and client overrides', ({ db }) => {
  it('applies a service override and a client window on top of the product, in one read', async () => {
    const s = await buildBillingStory(db().knex);
    await s.mod.billing.setServiceOverride(
      s.story.serviceId,
      { allowance: '8 TB', prices: { EUR: { overage: '0.40' } } },
      CLI,
    );
    await s.mod.billing.setClientWindow(
      s.story.clientId,
      { days: 10, counting: 'business', holidays: 'NL' },
      CLI,
    );
    const eff = await s.mod.billing.forService(s.story.productId, s.story.serviceId, s.story.clientId);
    expect(eff).to.deep.include({
      allowance: String(8n * 10n ** 12n),
      window: { days: 10, counting: 'business', holidays: 'NL' },
    });
    expect(eff!.prices.EUR).to.deep.equal({ overage: '0.40' });
    // the other service of the product keeps the product's settings
    const other = await s.mod.billing.forService(
      s.story.productId,
      s.story.dutchServiceId,
      s.story.dutchClientId,
    );
    expect(other).to.deep.include({
      allowance: String(5n * 10n ** 12n),
      window: { days: 14, counting: 'calendar', holidays: 'BE' },
    });
    // a service switched off is not billed; a product without settings neither
    await s.mod.billing.setServiceOverride(s.story.serviceId, { enabled: false }, CLI);
    expect(await s.mod.billing.forService(s.story.productId, s.story.serviceId, s.story.clientId)).to.equal(
      null,
    );
    expect(await s.mod.billing.forService(9999, s.story.serviceId, s.story.clientId)).to.equal(null);
  });

  it("sees a product's new price at the next read, whoever changed it, and no caller can change what others read", async () => {
    const s = await buildBillingStory(db().knex);
    const read = () => s.mod.billing.forService(s.story.productId, s.story.serviceId, s.story.clientId);
    // the story's product: €0.50 a GB over 5 TB (read twice: the second is the same answer)
    expect((await read())!.prices.EUR!.overage).to.equal('0.50');
    const first = await read();
    expect(first!.prices.EUR!.overage).to.equal('0.50');
    // the admin raises it to €0.75 here
    const p = (await s.mod.billing.getProduct(s.story.productId))!;
    await s.mod.billing.setProduct(
      s.story.productId,
      { ...p, prices: { EUR: { overage: '0.75', precommit: '0.35' } } } as never,
      CLI,
    );
    expect((await read())!.prices.EUR!.overage).to.equal('0.75');
    // another process (the admin area) writes 6 TB: 6 × 10^12 bytes, seen at once
    const row = await db()
      .knex('mod_overusage_billing_profiles')
      .where({ product_id: s.story.productId })
      .first();
    const stored = JSON.parse(String(row.settings)) as Record<string, unknown>;
    await db()
      .knex('mod_overusage_billing_profiles')
      .where({ product_id: s.story.productId })
      .update({ settings: JSON.stringify({ ...stored, allowance: String(6n * 10n ** 12n) }) });
    expect(await read()).to.deep.include({ allowance: '6000000000000' });
    // a caller writing into the settings it was given changes nothing another reads
    const given = (await read())!;
    expect(() => {
      (given.prices.EUR as { overage: string }).overage = '9.99';
    }).to.throw(TypeError);
    expect((await read())!.prices.EUR!.overage).to.equal('0.75');
  });

  it('refuses settings that do not make sense, saying which field', async () => {
    const s = await buildBillingStory(db().knex);
    for (const [bad, msg] of [
      [{ unit: 'GB', allowance: '5 TB', prices: {} }, /prices/],
      [{ unit: 'PB', allowance: '5 TB', prices: { EUR: { overage: '0.5' } } }, /unit/],
      [{ unit: 'GB', allowance: '5.5 B', prices: { EUR: { overage: '0.5' } } }, /allowance/],
      // the allowance's own words, not a union's "Invalid input"; 2^63 bytes is one more than a
      // rating's BIGINT column holds
      [
        { unit: 'GB', allowance: '5 XB', prices: { EUR: { overage: '0.5' } } },
        /allowance: "XB" is not a unit/,
      ],
      [
        { unit: 'GB', allowance: '9223372036854775808', prices: { EUR: { overage: '0.5' } } },
        /allowance: "9223372036854775808" is more than the 9223372036854775807 bytes/,
      ],
      [
        { unit: 'GB', model: 'per_block', allowance: '5 TB', prices: { EUR: { overage: '0.5' } } },
        /blockUnits/,
      ],
      [{ unit: 'GB', allowance: '5 TB', prices: { EUR: { overage: '0.1234567' } } }, /overage/],
    ] as const) {
      try {
        await s.mod.billing.setProduct(s.story.productId, bad as never, CLI);
        expect.fail(`accepted ${JSON.stringify(bad)}`);
      } catch (err) {
        expect((err as { code?: string }).code).to.equal('INVALID_INPUT');
        expect((err as Error).message).to.match(msg);
      }
    }
  });

  it("rates a few services with their own service and client overrides, reading no one else's", async () => {
    const s = await buildBillingStory(db().knex);
    const { knex } = db();
    // Ann's VPS: 5.5 TB included instead of the product's 5 TB, and 10 business days to dispute
    // (NL). Her May closes at 6 TB: 6 000 GB - 5 500 GB = 500 GB x EUR 0.50 = EUR 250.00.
    await s.mod.billing.setServiceOverride(s.story.serviceId, { allowance: '5.5 TB' }, CLI);
    await s.mod.billing.setClientWindow(
      s.story.clientId,
      { days: 10, counting: 'business', holidays: 'NL' },
      CLI,
    );
    // the Dutch VPS (4 TB in May) has its own override: 3 TB included, 1 000 GB x EUR 0.50 = EUR 500.00
    await s.mod.billing.setServiceOverride(s.story.dutchServiceId, { allowance: '3 TB' }, CLI);
    // overrides of services and clients that are not rated here
    for (let id = 9001; id <= 9005; id++) {
      await s.mod.billing.setServiceOverride(id, { allowance: '1 TB' }, CLI);
      await s.mod.billing.setClientWindow(id, { days: 3, counting: 'calendar', holidays: 'BE' }, CLI);
    }
    await closeMay(s);
    const sent: string[] = [];
    const listen = (q: { sql: string }) => sent.push(q.sql);
    knex.on('query', listen);
    try {
      await s.mod.rating.rateClosedPeriods({ serviceIds: [s.story.serviceId] });
    } finally {
      knex.removeListener('query', listen);
    }
    // the overrides were read for Ann's service and client only, not every override stored
    const overrideReads = sent.filter((q) => /_overrides/.test(q));
    expect(overrideReads).to.have.length.greaterThan(0);
    for (const q of overrideReads) {
      if (/_service_overrides/.test(q)) expect(q).to.match(/_service_overrides`? where `?service_id`? in/i);
      if (/_client_overrides/.test(q)) expect(q).to.match(/_client_overrides`? where `?client_id`? in/i);
    }
    const amountOf = async (serviceId: number) =>
      knex('mod_overusage_charges')
        .where({ service_id: serviceId })
        .select('amount_minor', 'allowance_bytes')
        .then((rows) => rows.map((r) => [String(r.amount_minor), String(r.allowance_bytes)]));
    expect(await amountOf(s.story.serviceId)).to.deep.equal([['25000', '5500000000000']]);
    // the charge keeps the settings it was rated with: Ann's own window among them
    const explained = await knex('mod_overusage_charges')
      .where({ service_id: s.story.serviceId })
      .first('explanation');
    expect(JSON.parse(String(explained.explanation)).profile.window).to.deep.equal({
      days: 10,
      counting: 'business',
      holidays: 'NL',
    });
    // the Dutch VPS was not asked about: not rated yet; the run over everything rates it with its override
    expect(await amountOf(s.story.dutchServiceId)).to.deep.equal([]);
    await s.mod.rating.rateClosedPeriods();
    expect(await amountOf(s.story.dutchServiceId)).to.deep.equal([['50000', '3000000000000']]);
  });
});
