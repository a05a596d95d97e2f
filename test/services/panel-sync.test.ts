import { expect } from 'chai';
import type { Knex } from 'knex';
import { addServer, addSolusIoServer } from '../../panel/records.js';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, type BillingStory } from '../support/billing-story.js';
import { logInto } from '../support/log-lines.js';
import { CLI_ACTOR as CLI } from '../support/module-fixture.js';

/**
 * A SolusVM 2 master behind a "solusiovps" server entry, both VPSs of the story on it, keeping no
 * vserverid (the official module writes none): each is linked only by its row in solusiovps_servers.
 */
async function onSolusVm2(s: BillingStory, knex: Knex): Promise<{ id: number }> {
  const v2 = await s.mod.masters.add(
    {
      name: 'solus-2',
      version: 2,
      baseUrl: 'https://solus2.example.net/api/v1',
      token: 'tok',
      timeZone: 'Europe/Brussels',
    },
    CLI,
  );
  const serverId = await addServer(knex, {
    name: 'SolusIO',
    type: 'solusiovps',
    hostname: 'solus2.example.net',
  });
  await knex('tblhosting').update({ server: serverId });
  await knex('tblcustomfieldsvalues').delete();
  await s.mod.masters.update(v2.id, { panelServerId: serverId }, CLI);
  return v2;
}

describeEachEngine("linking the panel's services to SolusVM servers", ({ db }) => {
  it("links billed products' services by their vserverid on a mapped server, and stops those that end", async () => {
    const knex: Knex = db().knex;
    const s = await buildBillingStory(knex);
    // start from no links: the sync must find them itself
    await knex('mod_overusage_services').delete();
    const serverId = await addServer(knex, {
      name: 'solus-nl',
      type: 'solusvmpro',
      hostname: 'solus.example.net',
    });
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

  /**
   * One of our own services rows that cannot be read (SQLite only: its INTEGER columns keep any text;
   * MariaDB's typed columns always read back as numbers). Ann's and Jan's VPSs are linked by a first
   * sync (101, 102); Ann's service is then terminated in the panel and Jan's row's product_id edited
   * to 'x'. Before: the sync threw on reading the rows ("mod_overusage_services.product_id holds
   * "x", which is not an integer") and Ann's VPS went on being metered. Now Ann's is stopped
   * (stopped 1), Jan's is left as it stands (not linked again, its row untouched) and listed as a
   * sync issue naming the column; logged once without the value. Mended, the next sync finds
   * nothing to do and the issue goes.
   */
  it('stops the others when one of our own services rows cannot be read, and names it', async function () {
    if (db().engine !== 'sqlite') this.skip();
    const knex: Knex = db().knex;
    const logged: Array<Record<string, unknown>> = [];
    const s = await buildBillingStory(knex, undefined, { log: logInto(logged) });
    await knex('mod_overusage_services').delete();
    const serverId = await addServer(knex, {
      name: 'solus-nl',
      type: 'solusvmpro',
      hostname: 'solus.example.net',
    });
    await knex('tblhosting').update({ server: serverId });
    await s.mod.masters.update(s.masterId, { panelServerId: serverId }, CLI);
    expect(await s.mod.sync!.sync()).to.deep.include({ linked: 2 });
    await s.f.panel.api.updateClientProduct({ serviceId: s.story.serviceId, status: 'Terminated' });
    const jan = s.story.dutchServiceId;
    await knex('mod_overusage_services').where({ service_id: jan }).update({ product_id: 'x' });
    logged.length = 0;

    const out = await s.mod.sync!.sync();
    expect(out).to.deep.include({ linked: 0, updated: 0, stopped: 1 });
    expect((await s.mod.links.get(s.story.serviceId)).active).to.equal(false);
    expect(out.skipped.map((x) => [x.serviceId, x.reason])).to.deep.equal([
      [
        jan,
        "its row in the module's services table cannot be read: mod_overusage_services.product_id is not an integer; mend that row (the service is left as it stands until then)",
      ],
    ]);
    expect(
      (await knex('mod_overusage_services').where({ service_id: jan }).first('product_id')).product_id,
    ).to.equal('x');
    expect((await s.mod.sync!.issues()).map((x) => x.serviceId)).to.deep.equal([jan]);
    const told = logged.filter((l) => l.event === 'panel_sync.row_unreadable');
    expect(told.map((l) => [l.level, l.table, l.id, l.column, l.reason])).to.deep.equal([
      ['warn', 'mod_overusage_services', jan, 'mod_overusage_services.product_id', 'not an integer'],
    ]);
    expect(JSON.stringify(logged)).not.to.include('"x"');

    await knex('mod_overusage_services').where({ service_id: jan }).update({ product_id: s.story.productId });
    expect(await s.mod.sync!.sync()).to.deep.include({ linked: 0, updated: 0, stopped: 0 });
    expect(await s.mod.sync!.issues()).to.deep.equal([]);
  });

  it('says why a service is not linked', async () => {
    const knex: Knex = db().knex;
    const s = await buildBillingStory(knex);
    await knex('mod_overusage_services').delete();
    const out = await s.mod.sync!.sync();
    expect(out.linked).to.equal(0);
    expect(out.skipped.map((x) => x.reason)).to.deep.equal([
      'it is on no server in the panel (no server entry is set on the service)',
      'it is on no server in the panel (no server entry is set on the service)',
    ]);
    // kept for the admin tab and the API until the next sync
    expect((await s.mod.sync!.issues()).map((x) => [x.serviceId, x.domain])).to.deep.equal([
      [s.story.serviceId, 'vps1.example.net'],
      [s.story.dutchServiceId, 'vps2.example.be'],
    ]);
  });

  it("links SolusVM 2 services from the official module's solusiovps_servers table, and says which it cannot", async () => {
    const knex: Knex = db().knex;
    const s = await buildBillingStory(knex);
    await knex('mod_overusage_services').delete();
    // the first has the row CreateAccount writes, the second none
    const v2 = await onSolusVm2(s, knex);
    await addSolusIoServer(knex, s.story.serviceId, 412, {
      uuid: '5b0d2c7e-8a51-4f7e-9d3e-1c2b3a4d5e6f',
      name: 'vps1.example.net',
    });

    const out = await s.mod.sync!.sync();
    expect(out).to.deep.include({ linked: 1, updated: 0, stopped: 0 });
    expect(await s.mod.links.get(s.story.serviceId)).to.deep.include({ masterId: v2.id, serverRef: '412' });
    expect(out.skipped).to.have.length(1);
    expect(out.skipped[0]).to.deep.include({ serviceId: s.story.dutchServiceId, domain: 'vps2.example.be' });
    expect(out.skipped[0]!.reason).to.equal(
      `no row in solusiovps_servers (the SolusVM 2 module's table) and no vserverid custom field value; to link by hostname or IP, set sync_match_by (Settings), or link it by hand: overusage service link --service ${s.story.dutchServiceId} --server <id>`,
    );
    // once the module has created the second server too, the next sync links it and the issue goes
    await addSolusIoServer(knex, s.story.dutchServiceId, 413);
    expect(await s.mod.sync!.sync()).to.deep.include({ linked: 1 });
    expect(await s.mod.sync!.issues()).to.deep.equal([]);
  });

  /**
   * One row of the SolusVM 2 module's table that cannot be read: Ann's VPS (service 1) and Jan's
   * (service 2) are on a SolusVM 2 master, their rows name servers 412 and 413, and Jan's row's
   * server_id is then emptied by hand (NULL: no server). Before: the sync threw on that one row and
   * linked no one (0 linked, Ann's VPS not metered). Now: Ann is linked to 412 (linked 1), Jan is
   * left out as a sync issue naming the column (skipped 1, his server not guessed from any other
   * source), and the row is logged once a sync with its table, id and column, never its value.
   */
  it("links the others when one row of the SolusVM 2 module's table cannot be read, and names it", async () => {
    const knex: Knex = db().knex;
    const logged: Array<Record<string, unknown>> = [];
    const s = await buildBillingStory(knex, undefined, { log: logInto(logged) });
    await knex('mod_overusage_services').delete();
    const v2 = await onSolusVm2(s, knex);
    await addSolusIoServer(knex, s.story.serviceId, 412);
    await addSolusIoServer(knex, s.story.dutchServiceId, 413);
    const jans = Number(
      (await knex('solusiovps_servers').where({ service_id: s.story.dutchServiceId }).first('id')).id,
    );
    await knex('solusiovps_servers').where({ id: jans }).update({ server_id: null });
    logged.length = 0;

    const out = await s.mod.sync!.sync();
    expect(out).to.deep.include({ linked: 1, updated: 0, stopped: 0 });
    expect(await s.mod.links.get(s.story.serviceId)).to.deep.include({ masterId: v2.id, serverRef: '412' });
    expect(out.skipped.map((x) => [x.serviceId, x.reason])).to.deep.equal([
      [
        s.story.dutchServiceId,
        `its row ${jans} in solusiovps_servers (the SolusVM 2 module's table) cannot be read: solusiovps_servers.server_id is not an integer; mend or delete that row, or link it by hand: overusage service link --service ${s.story.dutchServiceId} --server <id>`,
      ],
    ]);
    expect((await s.mod.sync!.issues()).map((x) => x.serviceId)).to.deep.equal([s.story.dutchServiceId]);
    const told = logged.filter((l) => l.event === 'panel_sync.row_unreadable');
    expect(told.map((l) => [l.level, l.table, l.id, l.column, l.reason])).to.deep.equal([
      ['warn', 'solusiovps_servers', jans, 'solusiovps_servers.server_id', 'not an integer'],
    ]);
    expect(JSON.stringify(told)).not.to.include('null');
    // mended (the module wrote server 413), the next sync links Jan and the issue goes
    await knex('solusiovps_servers').where({ id: jans }).update({ server_id: 413 });
    expect(await s.mod.sync!.sync()).to.deep.include({ linked: 1 });
    expect(await s.mod.links.get(s.story.dutchServiceId)).to.deep.include({ serverRef: '413' });
    expect(await s.mod.sync!.issues()).to.deep.equal([]);
  });
});
