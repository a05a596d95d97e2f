import { expect } from 'chai';
import type { Knex } from 'knex';
import { describeEachEngine } from '../support/engines.js';
import { FakeMaster } from '../support/fake-gateway.js';
import { buildModule, CLI_ACTOR } from '../support/module-fixture.js';

/*
 * Services linked now have never been sampled: they start on the billing calendar, and the rebuild
 * that `migrate` runs for periods made before the calendar (every `overusage` command migrates
 * first) has nothing to do for them (issue 22). Before, each new link was written as "not yet on
 * the calendar", and the first command after an import of 1 000 000 links marked them all in one
 * UPDATE of 1 000 000 rows before collect could start.
 *
 * 300 services imported in one batch and 1 linked alone, then `migrate`: its UPDATEs of the
 * services table change 0 rows (301 before).
 */
describeEachEngine(
  'new links start on the billing calendar: migrate after an import rewrites nothing',
  ({ db }) => {
    it('imports 300 links and links 1 more; the next migrate changes no service row', async () => {
      const knex: Knex = db().knex;
      const fake = new FakeMaster();
      const { mod } = await buildModule(knex, {
        start: '2026-11-10T10:00:00Z',
        gatewayFor: () => fake.gateway(),
      });
      const masterId = (
        await mod.masters.add(
          {
            name: 'solus',
            version: 1,
            baseUrl: 'https://solus.example.net:5656',
            apiId: 'i',
            apiKey: 'k',
            timeZone: 'Europe/Brussels',
          },
          CLI_ACTOR,
        )
      ).id;
      await mod.links.linkMany(
        Array.from({ length: 300 }, (_, i) => ({
          serviceId: i + 1,
          clientId: 1 + (i % 7),
          masterId,
          serverRef: String(100 + i),
        })),
        CLI_ACTOR,
      );
      await mod.links.link({ serviceId: 301, clientId: 1, masterId, serverRef: '400' }, CLI_ACTOR);
      // rows changed by each UPDATE of the services table
      const changed: unknown[] = [];
      const seen = (res: unknown, q: { sql?: string }) => {
        if (q.sql && /^update [`"]mod_overusage_services[`"]/i.test(q.sql)) changed.push(res);
      };
      knex.on('query-response', seen);
      try {
        expect(await mod.migrate()).to.deep.equal([]);
      } finally {
        knex.removeListener('query-response', seen);
      }
      expect(changed).to.deep.equal([0]);
      await mod.close();
    });
  },
);
