import { expect } from 'chai';
import type { Knex } from 'knex';
import { buildModule, CLI_ACTOR, type ModuleFixture } from '../support/module-fixture.js';
import { describeEachEngine } from '../support/engines.js';
import { FakeMaster } from '../support/fake-gateway.js';
import { createPanel, type Panel } from '../../panel/index.js';
import { silentLogger } from '../../module/adapters/logger.js';
import { registerModule } from '../support/register-module.js';

const GB = 10n ** 9n;

/**
 * The module loaded into the reference panel the way WHMCS loads an addon: activation applies its
 * migrations, deactivation keeps (or, when asked, drops) its data, and its cron hooks sample the
 * SolusVM counters at the right moments of the panel's automation.
 */
describeEachEngine('the module as an addon of the reference panel', ({ db }) => {
  let knex: Knex;
  let fx: ModuleFixture;
  let panel: Panel;
  let fake: FakeMaster;

  before(async () => {
    knex = db().knex;
    fake = new FakeMaster();
    fx = await buildModule(knex, { start: '2013-05-10T07:00:00Z', gatewayFor: () => fake.gateway() });
    await fx.mod.migrateDown();
    panel = createPanel({ knex, clock: fx.clock, zone: 'Europe/Brussels', log: silentLogger });
    await panel.migrate();
    registerModule(panel, fx.mod);
  });

  it('applies its migrations when the admin activates it', async () => {
    expect(await knex.schema.hasTable('mod_overusage_samples')).to.equal(false);
    const result = await panel.addons.activate('overusage');
    expect(result.status).to.equal('success');
    expect(await knex.schema.hasTable('mod_overusage_samples')).to.equal(true);
    const m = await fx.mod.masters.add(
      {
        name: 'nl',
        version: 1,
        baseUrl: 'https://solus.example.net:5656',
        apiId: 'i',
        apiKey: 'k',
        timeZone: 'Europe/Brussels',
      },
      CLI_ACTOR,
    );
    for (const id of [1, 2, 3]) {
      await fx.mod.links.link({ serviceId: id, clientId: 5, masterId: m.id, serverRef: `v${id}` }, CLI_ACTOR);
      fake.set(`v${id}`, 100n * GB);
    }
  });

  it('samples yesterday from the daily cron when the evening run did not', async () => {
    // 09:00 in Brussels on 10 May: the daily automation ends with DailyCronJob, which closes 9 May.
    const report = await panel.runDailyAutomation('2013-05-10');
    expect(report.date).to.equal('2013-05-10');
    const samples = await knex('mod_overusage_samples').select('sample_date');
    expect(samples.map((s) => s.sample_date)).to.deep.equal(['2013-05-09', '2013-05-09', '2013-05-09']);
    expect(panel.hooks.fired()).to.include('DailyCronJob');
  });

  it('takes the evening samples on the 5-minute cron only from the configured time', async () => {
    fx.clock.set('2013-05-10T18:00:00Z'); // 20:00 in Brussels: too early, the day is not over
    await panel.hooks.run('AfterCronJob', {});
    expect(await knex('mod_overusage_samples').where({ sample_date: '2013-05-10' })).to.have.length(0);
    fx.clock.set('2013-05-10T21:50:00Z'); // 23:50
    await panel.hooks.run('AfterCronJob', {});
    expect(await knex('mod_overusage_samples').where({ sample_date: '2013-05-10' })).to.have.length(3);
    const runs = await knex('mod_overusage_runs').where({ sample_date: '2013-05-10' });
    fx.clock.set('2013-05-10T21:55:00Z');
    await panel.hooks.run('AfterCronJob', {});
    expect(await knex('mod_overusage_runs').where({ sample_date: '2013-05-10' })).to.have.length(runs.length);
  });

  it('retries a failed read on a later tick, not on every tick', async () => {
    fake.fail('v2');
    fx.clock.set('2013-05-11T21:50:00Z');
    await panel.hooks.run('AfterCronJob', {});
    expect(await knex('mod_overusage_samples').where({ sample_date: '2013-05-11' })).to.have.length(2);
    fake.fail('v2', null);
    fx.clock.set('2013-05-11T21:55:00Z');
    await panel.hooks.run('AfterCronJob', {});
    expect(await knex('mod_overusage_samples').where({ sample_date: '2013-05-11' })).to.have.length(2);
    fx.clock.set('2013-05-11T22:10:00Z');
    await panel.hooks.run('AfterCronJob', {});
    expect(await knex('mod_overusage_samples').where({ sample_date: '2013-05-11' })).to.have.length(3);
  });

  it('keeps its data when deactivated, and drops it only when told to', async () => {
    let result = await panel.addons.deactivate('overusage');
    expect(result.status).to.equal('success');
    expect(result.description).to.match(/data is kept/);
    expect(await knex('mod_overusage_samples').count({ n: '*' }).first()).to.satisfy(
      (r: { n: unknown }) => Number(r.n) === 9,
    );
    await panel.addons.activate('overusage');
    await fx.mod.settings.set({ drop_data_on_deactivate: 'on' }, CLI_ACTOR);
    result = await panel.addons.deactivate('overusage');
    expect(result.description).to.match(/deleted/);
    expect(await knex.schema.hasTable('mod_overusage_samples')).to.equal(false);
    // the panel's own tables are untouched
    expect(await knex.schema.hasTable('tblinvoices')).to.equal(true);
  });
});
