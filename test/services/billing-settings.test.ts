import { expect } from 'chai';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory } from '../support/billing-story.js';

const CLI = { type: 'cli' as const, id: 'test' };

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

  it('refuses settings that do not make sense, saying which field', async () => {
    const s = await buildBillingStory(db().knex);
    for (const [bad, msg] of [
      [{ unit: 'GB', allowance: '5 TB', prices: {} }, /prices/],
      [{ unit: 'PB', allowance: '5 TB', prices: { EUR: { overage: '0.5' } } }, /unit/],
      [{ unit: 'GB', allowance: '5.5 B', prices: { EUR: { overage: '0.5' } } }, /allowance/],
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
});
