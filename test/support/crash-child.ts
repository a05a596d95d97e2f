/**
 * A process the fault-injection tests kill: it opens a database the parent prepared, builds the
 * reference panel with the add-on as a real run would, counts the SQL statements of one window
 * (an InvoiceCreation delivery, a dispute's opening or resolution with its emails), and sends
 * itself SIGKILL when statement `killAt` is about to go out (knex emits 'query' before sending).
 * With killAt 0 it runs the window whole and reports the statements it counted.
 *
 * Forked with IPC: it loads everything, says 'ready', and waits for its orders, so its start-up
 * overlaps with the parent's preparing the next database.
 */
import { ManualClock } from '../../module/adapters/clocks.js';
import { openDatabase } from '../../module/adapters/database.js';
import { silentLogger } from '../../module/adapters/logger.js';
import { createModule } from '../../module/index.js';
import { createPanel } from '../../panel/index.js';
import { TEST_SECRET_KEY } from './module-fixture.js';
import { registerModule } from './register-module.js';

export interface CrashOrders {
  url: string;
  /** the statement (1-based) at which the process dies; 0: run the window whole and report */
  killAt: number;
  at: string;
  scenario:
    | { kind: 'renewal'; date: string }
    | { kind: 'dispute-open'; lineId: number; clientId: number }
    | { kind: 'dispute-resolve'; disputeId: number; to: 'upheld' | 'waived' | 'adjusted' };
}

export interface CrashReport {
  statements: number;
  sql: string[];
}

const ZONE = 'Europe/Brussels';

async function run(o: CrashOrders): Promise<CrashReport> {
  const db = openDatabase(o.url);
  const clock = new ManualClock(o.at);
  const panel = createPanel({ knex: db.knex, clock, zone: ZONE, log: silentLogger });
  const mod = createModule({
    knex: db.knex,
    clock,
    secretKey: TEST_SECRET_KEY,
    zone: ZONE,
    gatewayFor: () => {
      throw new Error('no SolusVM in this window');
    },
    panel: panel.api,
    log: silentLogger,
    metering: { writer: 'inline' },
  });
  registerModule(panel, mod);
  await panel.addons.boot();

  let armed = false;
  const sql: string[] = [];
  db.knex.on('query', (q: { sql: string }) => {
    if (!armed) return;
    sql.push(q.sql.slice(0, 200));
    if (sql.length === o.killAt) process.kill(process.pid, 'SIGKILL');
  });

  const s = o.scenario;
  if (s.kind === 'renewal') {
    // the window: every InvoiceCreation delivery of the run (the panel has committed the invoice)
    panel.hooks.add('InvoiceCreation', -1000, () => void (armed = true), 'crash-test');
    panel.hooks.add('InvoiceCreation', 1000, () => void (armed = false), 'crash-test');
    await panel.runDailyAutomation(s.date);
  } else if (s.kind === 'dispute-open') {
    armed = true;
    await mod.disputes!.open({
      lineId: s.lineId,
      reason: 'I did not use this traffic',
      actor: { type: 'client', id: String(s.clientId) },
    });
    armed = false;
  } else {
    armed = true;
    await mod.disputes!.resolve({
      disputeId: s.disputeId,
      to: s.to,
      actor: { type: 'admin', id: '1' },
      ...(s.to === 'adjusted' ? { adjustment: { kind: 'share', percent: '50' } as const } : {}),
    });
    armed = false;
  }
  await mod.close();
  await db.close();
  return { statements: sql.length, sql };
}

process.on('message', (o: CrashOrders) => {
  run(o).then(
    (report) => process.send!({ ok: true, report }, () => process.exit(0)),
    (err: Error) => process.send!({ ok: false, error: err.stack ?? err.message }, () => process.exit(1)),
  );
});
process.send!('ready');
