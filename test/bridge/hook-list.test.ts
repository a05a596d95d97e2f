import { expect } from 'chai';
import type { Knex } from 'knex';
import { createModule } from '../../module/index.js';
import { silentLogger } from '../../module/adapters/logger.js';
import type { PanelApi } from '../../module/adapters/panel-api.js';
import { ManualClock } from '../../module/adapters/clocks.js';
import { TEST_SECRET_KEY } from '../support/module-fixture.js';
import { FakeMaster } from '../support/fake-gateway.js';
import { createTestDatabase, type TestDatabase } from '../support/engines.js';
import { requirePhp, runHarness } from './support.js';

/**
 * hooks.php registers exactly the hooks the module handles, with the same priorities: what WHMCS
 * registers when it loads hooks.php (read back from add_hook under php-cli) against the module's
 * own list (moduleHooks(), composed with everything it can have: a panel API, disputes, pages). A
 * hook the module handles that WHMCS never calls is a silent hole (AddInvoiceLateFee once was:
 * late fees were charged on held amounts); one WHMCS calls that the module does not handle is a
 * request to the service on every page load for nothing.
 */
describe('hooks.php against the hooks the module handles', () => {
  let db: TestDatabase;
  let knex: Knex;

  before(async function () {
    requirePhp(this);
    db = await createTestDatabase('sqlite');
    knex = db.knex;
  });

  after(async () => {
    await db?.drop();
  });

  it('registers every handled hook once, at its priority, and nothing else', async () => {
    // every optional part present: the fullest hook list the module can have
    const panel = new Proxy({}, { get: () => async () => ({}) }) as unknown as PanelApi;
    const mod = createModule({
      knex,
      clock: new ManualClock('2013-06-01T00:00:00Z'),
      secretKey: TEST_SECRET_KEY,
      zone: 'Europe/Brussels',
      gatewayFor: () => new FakeMaster().gateway(),
      panel,
      log: silentLogger,
      metering: { writer: 'inline' },
    });
    try {
      const handled: Record<string, number[]> = {};
      for (const h of mod.hooks()) (handled[h.name] ??= []).push(h.priority);
      expect(Object.keys(handled)).to.include.members([
        'InvoiceCreation',
        'EmailPreSend',
        'PreModuleSuspend',
        'AddInvoiceLateFee',
        'PreCronJob',
        'DailyCronJob',
        'AfterCronJob',
      ]);
      const out = await runHarness({ action: 'hooks', db: db.url });
      expect(out.errors).to.deep.equal([]);
      expect(out.hooks).to.deep.equal(handled);
    } finally {
      await mod.close();
    }
  });
});
