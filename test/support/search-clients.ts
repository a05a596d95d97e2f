import { expect } from 'chai';
import type { Knex } from 'knex';
import { addClient, addServer, addService } from '../../panel/records.js';
import { ZONE } from '../panel/support.js';
import { CLI_ACTOR } from './module-fixture.js';
import type { WebStory } from './web-story.js';

/**
 * Hand-made clients for the search, added to the seed story's Ann (vps1.example.net) and Jan
 * (vps2.example.be), all on the same 5 TB product and linked by the panel sync through vserverid:
 *   Siobhán O'Brien      obrien-vps.example.ie   192.0.2.10 (dedicated), 2001:db8::10 (assigned)
 *   Zoë Müller, company "Müller & Søn"  mail.muller.example.de  192.0.2.110
 *   Piet "100%_Cloud" (company)  edge_1.example.nl  198.51.100.7
 */
export async function addSearchClients(
  s: WebStory,
  knex: Knex,
): Promise<{ obrien: number; muller: number; cloud: number }> {
  const now = s.f.clock.now();
  const fieldId = s.story.vserverFieldId;
  const serverId = await addServer(knex, {
    name: 'solus-be',
    type: 'solusvmpro',
    hostname: 'solus.example.net',
  });
  const master = (await s.mod.masters.list())[0]!;
  await s.mod.masters.update(master.id, { panelServerId: serverId }, CLI_ACTOR);
  await knex('tblhosting').update({ server: serverId });
  const one = async (
    client: { firstname: string; lastname: string; companyname?: string; email: string },
    domain: string,
    ref: string,
    ips: { dedicatedip: string; assignedips?: string },
  ) => {
    const clientId = await addClient(knex, { ...client, language: 'english' }, now, ZONE);
    const serviceId = await addService(
      knex,
      {
        userid: clientId,
        packageid: s.story.productId,
        server: serverId,
        domain,
        regdate: '2013-01-09',
        nextduedate: '2013-06-09',
        amount: '19.95',
        customfields: { [fieldId]: ref },
      },
      now,
      ZONE,
    );
    await knex('tblhosting')
      .where({ id: serviceId })
      .update({ dedicatedip: ips.dedicatedip, assignedips: ips.assignedips ?? '' });
    return serviceId;
  };
  const obrien = await one(
    { firstname: 'Siobhán', lastname: "O'Brien", email: 'siobhan@example.ie' },
    'obrien-vps.example.ie',
    '103',
    { dedicatedip: '192.0.2.10', assignedips: '2001:db8::10\n192.0.2.11' },
  );
  const muller = await one(
    { firstname: 'Zoë', lastname: 'Müller', companyname: 'Müller & Søn', email: 'zoe@example.de' },
    'mail.muller.example.de',
    '104',
    { dedicatedip: '192.0.2.110' },
  );
  const cloud = await one(
    { firstname: 'Piet', lastname: 'Jansen', companyname: '100%_Cloud', email: 'piet@example.nl' },
    'edge_1.example.nl',
    '105',
    { dedicatedip: '198.51.100.7' },
  );
  const out = await s.mod.sync!.sync();
  // Ann's and Jan's links were made by hand on the same servers: the sync keeps them (updated, not new)
  expect(out.linked, JSON.stringify(out.skipped)).to.equal(3);
  return { obrien, muller, cloud };
}
