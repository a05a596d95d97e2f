import { expect } from 'chai';
import type { Knex } from 'knex';
import { silentLogger } from '../../module/adapters/logger.js';
import { createSolusVmGateway } from '../../module/adapters/solusvm-gateway.js';
import { createModule, type OverusageModule } from '../../module/index.js';
import { addServer } from '../../panel/records.js';
import { createSimulator, type SimMaster, type Simulator } from '../../simulator/index.js';
import { buildPanel, seedStory, type Story } from '../panel/support.js';
import { describeEachEngine } from '../support/engines.js';
import { CLI_ACTOR, TEST_SECRET_KEY } from '../support/module-fixture.js';

/**
 * Linking by hostname or IP (opt-in), against a simulated SolusVM 1 master's own server list over
 * HTTP: only a single match links; everything else is reported with why.
 */
describeEachEngine("linking by hostname or IP against the master's server list", ({ db }) => {
  let sim: Simulator;
  let mod: OverusageModule;
  let story: Story;
  let knex: Knex;
  let m: SimMaster;

  beforeEach(async () => {
    knex = db().knex;
    const f = await buildPanel(knex, { start: '2013-05-10T08:00:00Z' });
    story = await seedStory(f, { regdate: '2013-01-09', nextduedate: '2013-06-09' });
    sim = createSimulator({ now: () => f.clock.nowMs() });
    m = sim.addMaster({
      name: 'v1',
      version: 1,
      zone: 'Europe/Brussels',
      resetPolicy: 'first_of_month',
      credentials: { apiId: 'id', apiKey: 'key' },
    });
    const spec = {
      node: { id: 1, name: 'node-1' },
      clientId: 7,
      type: 'kvm' as const,
      limitBytes: 0n,
      createdAt: '2012-01-01T00:00:00',
      profile: { kind: 'constant' as const, bytesPerDay: 1n },
    };
    m.addServer({ ...spec, id: 501, hostname: 'vps1.example.net', ip: '203.0.113.11' });
    m.addServer({ ...spec, id: 502, hostname: 'box-502.example.net', ip: '203.0.113.12' });
    await m.listen();
    mod = createModule({
      knex,
      clock: f.clock,
      secretKey: TEST_SECRET_KEY,
      zone: 'Europe/Brussels',
      gatewayFor: (s) => createSolusVmGateway(s),
      panel: f.panel.api,
      log: silentLogger,
      metering: { writer: 'inline' },
    });
    await mod.migrateDown();
    await mod.migrate();
    const serverId = await addServer(knex, {
      name: 'solus-nl',
      type: 'solusvmpro',
      hostname: 'solus.example.net',
    });
    await knex('tblhosting').update({ server: serverId });
    await knex('tblcustomfieldsvalues').delete();
    await mod.masters.add(
      {
        name: 'v1',
        version: 1,
        baseUrl: m.url,
        apiId: 'id',
        apiKey: 'key',
        timeZone: 'Europe/Brussels',
        retries: 0,
        panelServerId: serverId,
      },
      CLI_ACTOR,
    );
    await mod.billing.setProduct(
      story.productId,
      { unit: 'GB', model: 'per_unit', allowance: '5 TB', prices: { EUR: { overage: '0.50' } } },
      CLI_ACTOR,
    );
  });
  afterEach(async () => {
    await mod?.close();
    await sim?.close();
  });

  it('links nothing by name unless asked, then only what matches one server', async () => {
    const none = await mod.sync!.sync();
    expect(none.linked).to.equal(0);
    expect(none.skipped.map((x) => x.reason)).to.deep.equal([
      `no vserverid custom field value; to link by hostname or IP, set sync_match_by (Settings), or link it by hand: overusage service link --service ${story.serviceId} --server <id>`,
      `no vserverid custom field value; to link by hostname or IP, set sync_match_by (Settings), or link it by hand: overusage service link --service ${story.dutchServiceId} --server <id>`,
    ]);
    expect(m.stats().requests).to.equal(0); // the server list is read only when a match is asked for

    await mod.settings.set({ sync_match_by: 'hostname' }, CLI_ACTOR);
    const byName = await mod.sync!.sync();
    expect(byName.linked).to.equal(1);
    expect(await mod.links.get(story.serviceId)).to.deep.include({ serverRef: '501' });
    expect(byName.skipped.map((x) => x.reason)).to.deep.equal([
      'no vserverid custom field value; no server on master "v1" has the hostname vps2.example.be',
    ]);

    // Jan's service has the dedicated IP of server 502
    await knex('tblhosting').where({ id: story.dutchServiceId }).update({ dedicatedip: '203.0.113.12' });
    await mod.settings.set({ sync_match_by: 'hostname_or_ip' }, CLI_ACTOR);
    expect(await mod.sync!.sync()).to.deep.include({ linked: 1, skipped: [] });
    expect(await mod.links.get(story.dutchServiceId)).to.deep.include({ serverRef: '502' });
    expect(await mod.sync!.issues()).to.deep.equal([]);
  });
});
