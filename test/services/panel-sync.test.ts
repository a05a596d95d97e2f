import { expect } from 'chai';
import type { Knex } from 'knex';
import { addServer } from '../../panel/records.js';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory } from '../support/billing-story.js';

const CLI = { type: 'cli' as const, id: 'test' };

describeEachEngine('linking the panel\'s services to SolusVM servers', ({ db }) => {
  it('links billed products\' services by their vserverid on a mapped server, and stops those that end', async () => {
    const knex: Knex = db().knex;
    const s = await buildBillingStory(knex);
    // start from no links: the sync must find them itself
    await knex('mod_overusage_services').delete();
    const serverId = await addServer(knex, { name: 'solus-nl', type: 'solusvmpro', hostname: 'solus.example.net' });
    await knex('tblhosting').update({ server: serverId });
    await s.mod.masters.update(s.masterId, { panelServerId: serverId }, CLI);

    const first = await s.mod.sync!.sync();
    expect(first).to.deep.include({ linked: 2, updated: 0, stopped: 0 });
    const links = await s.mod.links.list();
    expect(links.map((l) => [l.serviceId, l.serverRef, l.currency, l.productId])).to.deep.equal([
      [s.story.serviceId, '101', 'EUR', s.story.productId],
      [s.story.dutchServiceId, '102', 'EUR', s.story.productId],
    ]);
    expect(await s.mod.sync!.sync()).to.deep.include({ linked: 0, updated: 0, stopped: 0 });

    await s.f.panel.api.updateClientProduct({ serviceId: s.story.dutchServiceId, status: 'Terminated' });
    expect(await s.mod.sync!.sync()).to.deep.include({ stopped: 1 });
    expect((await s.mod.links.get(s.story.dutchServiceId)).active).to.equal(false);
  });

  it('says why a service is not linked', async () => {
    const knex: Knex = db().knex;
    const s = await buildBillingStory(knex);
    await knex('mod_overusage_services').delete();
    const out = await s.mod.sync!.sync();
    expect(out.linked).to.equal(0);
    expect(out.skipped.map((x) => x.reason)).to.deep.equal(['its server 0 is not mapped to a SolusVM master', 'its server 0 is not mapped to a SolusVM master']);
  });
});
