import type { Knex } from 'knex';
import { silentLogger, type Logger } from '../../module/adapters/logger.js';
import { createModule, type OverusageModule } from '../../module/index.js';
import { addProduct, addService } from '../../panel/records.js';
import { buildPanel, seedStory, ZONE, type PanelFixture, type Story } from '../panel/support.js';
import { FakeMaster } from './fake-gateway.js';
import { CLI_ACTOR, TEST_SECRET_KEY } from './module-fixture.js';
import { registerModule } from './register-module.js';

/** One more VPS of Ann's: on the story's product, or on a product of its own made by name. */
export interface ExtraVps {
  domain: string;
  /** a product made for it (no tax, SolusVM); the story's product when left out */
  product?: string;
  regdate?: string;
  nextduedate?: string;
  amount?: string;
}

export interface PoolWorld {
  f: PanelFixture;
  story: Story;
  mod: OverusageModule;
  fake: FakeMaster;
  masterId: number;
  /** the ids of `vps`, in the order given (the story's own service is story.serviceId) */
  vps: number[];
  /** the ids of the products made by name for `vps` */
  products: Record<string, number>;
}

/**
 * The pools suites' common ground: the reference panel at `start` with Ann's story (her first VPS
 * registered `regdate`, due `nextduedate`), her other VPSs (added before the add-on, as a panel
 * that has them already), the add-on activated on the panel with a FakeMaster behind one SolusVM 1
 * master "solus". Each suite sets its own products' pool settings and links.
 */
export async function buildPoolWorld(
  knex: Knex,
  opts: {
    start: string;
    regdate: string;
    nextduedate: string;
    vps: ExtraVps[];
    settings?: Record<string, string>;
    log?: Logger;
  },
): Promise<PoolWorld> {
  const f = await buildPanel(knex, {
    start: opts.start,
    ...(opts.settings ? { settings: opts.settings } : {}),
  });
  const story = await seedStory(f, { regdate: opts.regdate, nextduedate: opts.nextduedate });
  const products: Record<string, number> = {};
  const vps: number[] = [];
  for (const v of opts.vps) {
    if (v.product && products[v.product] === undefined) {
      products[v.product] = await addProduct(
        knex,
        { name: v.product, servertype: 'solusvmpro', tax: false },
        f.clock.now(),
        ZONE,
      );
    }
    vps.push(
      await addService(
        knex,
        {
          userid: story.clientId,
          packageid: v.product ? products[v.product]! : story.productId,
          domain: v.domain,
          regdate: v.regdate ?? '2026-03-01',
          nextduedate: v.nextduedate ?? '2026-12-01',
          amount: v.amount ?? '19.95',
        },
        f.clock.now(),
        ZONE,
      ),
    );
  }
  const fake = new FakeMaster();
  const mod = createModule({
    knex,
    clock: f.clock,
    secretKey: TEST_SECRET_KEY,
    zone: ZONE,
    gatewayFor: () => fake.gateway(),
    panel: f.panel.api,
    log: opts.log ?? silentLogger,
    metering: { writer: 'inline' },
    web: { cacheMs: 0 },
  });
  await mod.migrateDown();
  registerModule(f.panel, mod);
  await f.panel.addons.activate('overusage');
  const master = await mod.masters.add(
    {
      name: 'solus',
      version: 1,
      baseUrl: 'https://solus.example.net:5656',
      apiId: 'i',
      apiKey: 'k',
      timeZone: ZONE,
    },
    CLI_ACTOR,
  );
  return { f, story, mod, fake, masterId: master.id, vps, products };
}
