import { expect } from 'chai';
import type { Knex } from 'knex';
import { ModuleError } from '../../module/domain/errors.js';
import { describeEachEngine } from '../support/engines.js';
import { FakeMaster } from '../support/fake-gateway.js';
import { buildModule, CLI_ACTOR, type ModuleFixture } from '../support/module-fixture.js';

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) =>
      e instanceof ModuleError ? { code: e.code, message: e.message } : { code: 'OTHER', message: String(e) },
  );

/** Linking a panel service to a SolusVM server, as an operator does it (CLI, sync, import). */
describeEachEngine('service links', ({ db }) => {
  let knex: Knex;
  let fx: ModuleFixture;
  let v1: number;
  let v1Anniversary: number;
  let v2Anniversary: number;
  // one database for the suite: each test's masters and services are its own
  let round = 0;
  const sid = (k: number) => round * 1000 + k;

  beforeEach(async () => {
    knex = db().knex;
    round++;
    const fake = new FakeMaster();
    fx = await buildModule(knex, { start: '2013-05-10T21:50:00Z', gatewayFor: () => fake.gateway() });
    const add = (name: string, version: 1 | 2, resetPolicy: string) =>
      fx.mod.masters.add(
        version === 1
          ? {
              name,
              version,
              baseUrl: 'https://solus.example.net:5656',
              apiId: 'id',
              apiKey: 'key',
              timeZone: 'Europe/Brussels',
              resetPolicy,
            }
          : {
              name,
              version,
              baseUrl: 'https://solus2.example.net/api/v1',
              token: 'tok',
              timeZone: 'Europe/Brussels',
              resetPolicy,
            },
        CLI_ACTOR,
      );
    v1 = (await add(`eu1-${round}`, 1, 'first_of_month')).id;
    v1Anniversary = (await add(`eu2-${round}`, 1, 'anniversary')).id;
    v2Anniversary = (await add(`eu3-${round}`, 2, 'anniversary')).id;
  });

  it('links a service, keeps the link, and relinks it to another server while it has no samples', async () => {
    const first = await fx.mod.links.link(
      { serviceId: sid(501), clientId: 7, masterId: v1, serverRef: '101', currency: 'USD' },
      CLI_ACTOR,
    );
    expect(first).to.deep.include({
      serviceId: sid(501),
      clientId: 7,
      masterId: v1,
      serverRef: '101',
      currency: 'USD',
      active: true,
      resetPolicy: null,
    });
    const moved = await fx.mod.links.link(
      { serviceId: sid(501), clientId: 7, masterId: v1, serverRef: '102' },
      CLI_ACTOR,
    );
    expect(moved.serverRef).to.equal('102');
    const audit = await knex('mod_overusage_audit')
      .where({ entity_type: 'service', entity_id: String(sid(501)) })
      .orderBy('id')
      .select('action');
    expect(audit.map((a) => a.action)).to.deep.equal(['service.linked', 'service.relinked']);
  });

  it('refuses a server already linked to another service, and a move once the service has samples', async () => {
    await fx.mod.links.link({ serviceId: sid(501), clientId: 7, masterId: v1, serverRef: '101' }, CLI_ACTOR);
    expect(
      await refusal(
        fx.mod.links.link({ serviceId: sid(502), clientId: 8, masterId: v1, serverRef: '101' }, CLI_ACTOR),
      ),
    ).to.deep.equal({
      code: 'CONFLICT',
      message: `server 101 on master ${v1} is already linked to service ${sid(501)}`,
    });
    await knex('mod_overusage_services')
      .where({ service_id: sid(501) })
      .update({ last_sample_id: 1 });
    expect(
      await refusal(
        fx.mod.links.link({ serviceId: sid(501), clientId: 7, masterId: v1, serverRef: '103' }, CLI_ACTOR),
      ),
    ).to.deep.equal({
      code: 'CONFLICT',
      message: `service ${sid(501)} already has samples from server 101; a move to another server needs a new service link`,
    });
    expect((await fx.mod.links.get(sid(501))).serverRef).to.equal('101');
  });

  it('needs the creation day of a SolusVM 1 server that resets on its anniversary, but not of a SolusVM 2 one', async () => {
    expect(
      await refusal(
        fx.mod.links.link(
          { serviceId: sid(601), clientId: 7, masterId: v1Anniversary, serverRef: '201' },
          CLI_ACTOR,
        ),
      ),
    ).to.deep.equal({
      code: 'INVALID_INPUT',
      message: `service ${sid(601)} resets on its anniversary: give resetDay (the day of the month the VPS was created) or its registration date`,
    });
    expect(
      (
        await fx.mod.links.link(
          { serviceId: sid(601), clientId: 7, masterId: v1Anniversary, serverRef: '201', resetDay: 17 },
          CLI_ACTOR,
        )
      ).resetDay,
    ).to.equal(17);
    expect(
      (
        await fx.mod.links.link(
          { serviceId: sid(602), clientId: 7, masterId: v2Anniversary, serverRef: '301' },
          CLI_ACTOR,
        )
      ).resetDay,
    ).to.equal(null);
    // the same rule for a service that says so itself on a master that resets on the 1st
    expect(
      (
        await refusal(
          fx.mod.links.link(
            { serviceId: sid(603), clientId: 7, masterId: v1, serverRef: '202', resetPolicy: 'anniversary' },
            CLI_ACTOR,
          ),
        )
      )?.code,
    ).to.equal('INVALID_INPUT');
  });

  it('names the field and the master in its refusals, and writes nothing', async () => {
    expect(
      await refusal(
        fx.mod.links.link({ serviceId: sid(701), clientId: 7, masterId: 999, serverRef: '1' }, CLI_ACTOR),
      ),
    ).to.deep.equal({ code: 'NOT_FOUND', message: 'SolusVM master 999 does not exist' });
    expect(
      await refusal(
        fx.mod.links.link(
          { serviceId: sid(701), clientId: 7, masterId: v1, serverRef: '1', currency: 'euro' },
          CLI_ACTOR,
        ),
      ),
    ).to.deep.equal({
      code: 'INVALID_INPUT',
      message: 'currency: must be an ISO currency code such as EUR',
    });
    expect(await knex('mod_overusage_services').where({ service_id: sid(701) })).to.have.length(0);
  });

  it('links many in one transaction: one bad link writes none, and says which service it was', async () => {
    const good = { clientId: 7, masterId: v1 };
    expect(
      await fx.mod.links.linkMany(
        [
          { ...good, serviceId: sid(801), serverRef: '1' },
          { ...good, serviceId: sid(802), serverRef: '2' },
        ],
        CLI_ACTOR,
      ),
    ).to.equal(2);
    const bad = await refusal(
      fx.mod.links.linkMany(
        [
          { ...good, serviceId: sid(803), serverRef: '3' },
          { clientId: 7, masterId: v1Anniversary, serviceId: sid(804), serverRef: '4' },
        ],
        CLI_ACTOR,
      ),
    );
    expect(bad).to.deep.equal({
      code: 'INVALID_INPUT',
      message: `service ${sid(804)} resets on its anniversary: give resetDay (the day of the month the VPS was created) or its registration date`,
    });
    expect(
      (
        await knex('mod_overusage_services')
          .whereIn('service_id', [sid(801), sid(802), sid(803), sid(804)])
          .orderBy('service_id')
      ).map((r) => Number(r.service_id)),
    ).to.deep.equal([sid(801), sid(802)]);
  });
});
