import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { loadConfig } from '../cli/config.js';
import { advanceDemo, describeDemoDay, startDemoData, type Demo } from '../cli/demo.js';
import { createLogger } from '../module/adapters/logger.js';

/**
 * The demo's simulated SolusVM remembers what it was told: the limit policy suspends Pieter
 * (vps101) and throttles Chris (vps104, customnspeed 10) on SolusVM 1 once their plans' allowances
 * are lowered below what they used in June; after a
 * restart (what `panel cron --demo` does) the servers are still suspended and throttled, the limit
 * actions stay applied (never "unsuspended by someone else") and the panel keeps Pieter Suspended.
 * A day run twice says what the second run did: nothing. The demo is SQLite by design.
 */
describe('the demo keeps its simulated SolusVM between runs', function () {
  this.timeout(300_000);
  let dir = '';
  let demo: Demo | null = null;
  const start = async () => {
    const config = loadConfig({ OVERUSAGE_DATA_DIR: dir, OVERUSAGE_LOG_LEVEL: 'error' });
    return startDemoData(config, createLogger({ level: 'error' }));
  };
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-demo-sim-'));
  });
  after(async () => {
    await demo?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const serviceOf = async (d: Demo, host: string) => {
    const s = (await d.db.knex('tblhosting').where({ domain: host }).first('id', 'userid', 'domainstatus'))!;
    return { serviceId: Number(s.id), clientId: Number(s.userid), status: String(s.domainstatus) };
  };
  const v1 = (d: Demo) => d.sim.master('demo-solusvm-1')!;
  const actions = async (d: Demo) =>
    (
      await d.db.knex('mod_overusage_limit_actions').orderBy('id').select('service_id', 'action', 'status')
    ).map((r) => [Number(r.service_id), String(r.action), String(r.status)]);

  // The story's steps, in order (mocha keeps the order of a describe's its); one that fails leaves
  // the steps after it failing too.
  let pieter: { serviceId: number; clientId: number; status: string };
  let chris: { serviceId: number; clientId: number; status: string };
  let applied: (string | number)[][];

  it("gives the admin tab's search the demo's names and the simulator's IPs (the morning sync)", async () => {
    demo = await start();
    pieter = await serviceOf(demo, 'vps101.example.net');
    chris = await serviceOf(demo, 'vps104.example.net');
    expect(
      await demo.db
        .knex('mod_overusage_directory')
        .where({ service_id: pieter.serviceId })
        .first('client_name', 'hostname', 'ips', 'product_name'),
    ).to.deep.equal({
      client_name: 'Pieter Timmermans',
      hostname: 'vps101.example.net',
      ips: '10.0.0.101',
      product_name: 'VPS 5 TB',
    });
  });

  it('suspends Pieter and throttles Chris to 10 Mbit/s once their allowances are below what June used', async () => {
    const d = demo!;
    // 4 June: Pieter has moved about 3 × 150 GB in June, Chris 3 × 21 GB; their plans now include
    // 100 GB and 50 GB, and act at the limit: suspend (VPS 5 TB) and throttle to 10 Mbit/s (VPS 500 GB)
    const actor = { type: 'cli' as const, id: 'test' };
    const limitAt = async (serviceId: number, allowance: string, limitPolicy: Record<string, unknown>) => {
      const pid = Number(
        (await d.db.knex('tblhosting').where({ id: serviceId }).first('packageid'))!.packageid,
      );
      await d.module.billing.setProduct(
        pid,
        { ...(await d.module.billing.getProduct(pid))!, allowance, limitPolicy } as never,
        actor,
      );
    };
    await limitAt(pieter.serviceId, '100000000000', { action: 'suspend' });
    await limitAt(chris.serviceId, '50000000000', { action: 'throttle', throttleMbps: 10 });
    await d.module.limits.run({ decide: true });
    expect(v1(d).server(101)!.suspended, 'Pieter suspended on SolusVM').to.equal(true);
    expect(v1(d).server(104)!.nspeed, 'Chris throttled on SolusVM').to.equal(10);
    expect((await serviceOf(d, 'vps101.example.net')).status).to.equal('Suspended');
    applied = [
      [pieter.serviceId, 'suspend', 'applied'],
      [chris.serviceId, 'throttle', 'applied'],
    ];
    expect(await actions(d)).to.deep.equal(applied);
    await d.close();
    demo = null;
  });

  it('keeps both after a restart and a day of panel cron --demo, which read the 5 services once', async () => {
    // what panel cron --demo does: a new process starts the demo data and moves a day
    demo = await start();
    expect(v1(demo).server(101)!.suspended, 'still suspended after the restart').to.equal(true);
    expect(v1(demo).server(104)!.nspeed, 'still throttled after the restart').to.equal(10);
    const [day] = await advanceDemo(demo, '2013-06-05', '2013-06-05');
    // five services, one read each at 23:50; no invoice falls due on the 5th
    expect(day).to.deep.include({ date: '2013-06-05', alreadyRan: false, sampled: 5 });
    expect(describeDemoDay(day!)).to.match(
      /^2013-06-05: \d+ invoices? created, \d+ notices?, \d+ suspensions?; 5 services sampled$/,
    );
    expect(v1(demo).server(101)!.suspended).to.equal(true);
    expect(v1(demo).server(104)!.nspeed).to.equal(10);
    expect((await serviceOf(demo, 'vps101.example.net')).status).to.equal('Suspended');
  });

  it('never records the limit actions as "unsuspended by someone else"', async () => {
    expect(await actions(demo!), 'still applied').to.deep.equal(applied);
    const audit = await demo!.db
      .knex('mod_overusage_audit')
      .where('details', 'like', '%someone else%')
      .count({ n: '*' })
      .first();
    expect(Number(audit!.n)).to.equal(0);
  });

  it('says a day run twice did nothing the second time', async () => {
    // the panel's automation does not run twice and every service was read
    const [again] = await advanceDemo(demo!, '2013-06-05', '2013-06-05');
    expect(again).to.deep.equal({
      date: '2013-06-05',
      alreadyRan: true,
      invoices: 0,
      notices: 0,
      suspensions: 0,
      sampled: 0,
    });
    expect(describeDemoDay(again!)).to.equal(
      "2013-06-05: the panel's automation had already run this day, nothing done again; no new samples (already read that evening)",
    );
    await demo!.close();
    demo = null;
  });

  it('finds them as they were after a plain restart (npm start)', async () => {
    demo = await start();
    expect(v1(demo).server(101)!.suspended).to.equal(true);
    expect(v1(demo).server(104)!.nspeed).to.equal(10);
  });
});
