import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { run } from '../../cli/main.js';
import { createSolusVmGateway } from '../../module/adapters/solusvm-gateway.js';
import { normaliseMasterUrl } from '../../module/services/masters.js';
import {
  createSimulator,
  type MasterOptions,
  type SimMaster,
  type Simulator,
} from '../../simulator/index.js';
import { describeEachEngine } from '../support/engines.js';
import { buildModule, CLI_ACTOR, TEST_SECRET_KEY, type ModuleFixture } from '../support/module-fixture.js';

const GiB = 1024n ** 3n;
const TiB = 1024n ** 4n;

describe('master URLs as providers type them', () => {
  it('keeps a SolusVM 1 origin, drops a command.php path with a note, and refuses any other path', () => {
    expect(normaliseMasterUrl(1, 'https://master.example.net:5656/')).to.deep.equal({
      url: 'https://master.example.net:5656',
      notes: [],
    });
    expect(normaliseMasterUrl(1, 'https://master.example.net:5656/api/admin/command.php')).to.deep.equal({
      url: 'https://master.example.net:5656',
      notes: ["the URL's /api/admin/command.php was dropped: the client adds the API path itself"],
    });
    expect(() => normaliseMasterUrl(1, 'https://master.example.net:5656/solusvm')).to.throw(
      'a SolusVM 1 master URL is the master\'s origin, like https://master.example.net:5656; its path "/solusvm" is not one SolusVM 1 serves the API under',
    );
  });

  it('adds /api/v1 to a SolusVM 2 origin, trims a path past it, and refuses one without it', () => {
    expect(normaliseMasterUrl(2, 'https://solus.example.net')).to.deep.equal({
      url: 'https://solus.example.net/api/v1',
      notes: ['/api/v1 was added: SolusVM 2 serves its API there'],
    });
    expect(normaliseMasterUrl(2, 'https://solus.example.net/api/v1/servers')).to.deep.equal({
      url: 'https://solus.example.net/api/v1',
      notes: ["the URL's /servers was dropped: the API root is …/api/v1"],
    });
    expect(normaliseMasterUrl(2, 'https://solus.example.net/api/v1/').url).to.equal(
      'https://solus.example.net/api/v1',
    );
    expect(() => normaliseMasterUrl(2, 'https://solus.example.net/admin')).to.throw(
      'a SolusVM 2 master URL is its API root, ending in /api/v1 (like https://solus.example.net/api/v1); "/admin" is not',
    );
  });

  it('refuses a user and password in the URL, pointing to the sealed basic-auth settings', () => {
    expect(() => normaliseMasterUrl(1, 'https://admin:s3cret@master.example.net:5656')).to.throw(
      /do not put a user and password in the master URL .* --basic-auth-user and --basic-auth-password \(stored sealed, never shown\)/,
    );
    expect(() => normaliseMasterUrl(1, 'https://master.example.net:5656/?x=1')).to.throw(
      /no query or fragment/,
    );
    expect(() => normaliseMasterUrl(1, 'ftp://master.example.net')).to.throw(/must start with https:\/\//);
  });
});

describeEachEngine('SolusVM as providers run it', ({ db }) => {
  let sim: Simulator;
  let fx: ModuleFixture;
  let dir: string;
  let out: string[];
  let err: string[];

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-ops-'));
    sim = createSimulator({ now: () => Date.now() });
    fx = await buildModule(db().knex, {
      start: new Date().toISOString(),
      gatewayFor: (s) => createSolusVmGateway(s),
    });
    out = [];
    err = [];
  });
  afterEach(async () => {
    await fx?.mod.close();
    await fx?.mod.migrateDown();
    await sim?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) =>
    run(['--db', db().url, '--zone', 'Europe/Brussels', ...args], {
      out: (t: string) => out.push(t),
      err: (t: string) => err.push(t),
      isTTY: false,
      env: {
        OVERUSAGE_DATA_DIR: dir,
        OVERUSAGE_LOG_LEVEL: 'error',
        OVERUSAGE_SECRET_KEY: TEST_SECRET_KEY.toString('hex'),
      } as NodeJS.ProcessEnv,
    });

  async function v1Master(extra: Partial<MasterOptions> = {}): Promise<SimMaster> {
    const m = sim.addMaster({
      name: 'v1',
      version: 1,
      zone: 'Europe/Brussels',
      resetPolicy: 'first_of_month',
      credentials: { apiId: 'apiid', apiKey: 'k3y-secret' },
      ...extra,
    });
    const spec = {
      node: { id: 1, name: 'node-1' },
      type: 'kvm' as const,
      limitBytes: 0n,
      createdAt: '2012-01-01T00:00:00',
      profile: { kind: 'constant' as const, bytesPerDay: GiB },
    };
    m.addServer({ ...spec, id: 101, hostname: 'vps101.example.net', clientId: 7 });
    m.addServer({ ...spec, id: 102, hostname: 'vps102.example.net', clientId: 8 });
    await m.listen();
    return m;
  }

  it('adds a master with what it assumed said, keeps the htpasswd sealed, and refuses credentials in the URL', async () => {
    const m = await v1Master({ basicAuth: { user: 'proxy', password: 'pr0xy-pass' } });
    expect(
      await cli(
        'master',
        'add',
        '--name',
        'nl',
        '--solusvm',
        '1',
        '--url',
        `https://proxy:pr0xy-pass@${m.url.replace(/^https?:\/\//, '')}`,
        '--api-id',
        'apiid',
        '--api-key',
        'k3y-secret',
      ),
    ).to.equal(2);
    expect(err.pop()).to.match(/^overusage: do not put a user and password in the master URL/);
    expect(
      await cli(
        '--json',
        'master',
        'add',
        '--name',
        'nl',
        '--solusvm',
        '1',
        '--url',
        `${m.url}/api/admin/command.php`,
        '--api-id',
        'apiid',
        '--api-key',
        'k3y-secret',
        '--basic-auth-user',
        'proxy',
        '--basic-auth-password',
        'pr0xy-pass',
      ),
    ).to.equal(0);
    const added = JSON.parse(out.pop()!) as {
      id: number;
      baseUrl: string;
      hasBasicAuth: boolean;
      timeZone: string;
    };
    expect(added).to.deep.include({ baseUrl: m.url, hasBasicAuth: true, timeZone: 'UTC' });
    expect(err).to.deep.equal([
      "overusage: note: the URL's /api/admin/command.php was dropped: the client adds the API path itself",
      `overusage: note: no time zone was given: SolusVM resets counters at midnight on the master's own clock, so the reset is assumed at midnight UTC; set the master's zone (overusage master update ${added.id} --master-zone Europe/Brussels)`,
    ]);
    // the htpasswd works, and its password is never shown or stored in the clear
    expect(await cli('master', 'test', String(added.id))).to.equal(0);
    expect(await cli('--json', 'master', 'list')).to.equal(0);
    expect(out.join('\n')).not.to.include('pr0xy-pass');
    const asText = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x));
    const rows =
      asText(await db().knex('mod_overusage_masters').select()) +
      asText(await db().knex('mod_overusage_audit').select());
    expect(rows).not.to.include('pr0xy-pass');
    expect(rows).not.to.include('k3y-secret');
  });

  it('links a service only to a server the master has, and keeps a link made while the master is down, saying so', async () => {
    const m = await v1Master();
    const master = await fx.mod.masters.add(
      {
        name: 'nl',
        version: 1,
        baseUrl: m.url,
        apiId: 'apiid',
        apiKey: 'k3y-secret',
        timeZone: 'Europe/Brussels',
        retries: 0,
      },
      CLI_ACTOR,
    );
    const link = (server: string, service: string) =>
      cli(
        'service',
        'link',
        '--service',
        service,
        '--client',
        '7',
        '--master',
        String(master.id),
        '--server',
        server,
      );
    expect(await link('999', '11')).to.equal(3);
    expect(err.pop()).to.equal(
      `overusage: master ${master.id} ("nl") has no server 999 (for service 11): check the vserverid (SolusVM: Virtual Servers); nothing was linked`,
    );
    expect(await db().knex('mod_overusage_services')).to.have.length(0);
    expect(await link('101', '11')).to.equal(0);
    await m.setFaults({ down: true });
    expect(await link('102', '12')).to.equal(0);
    expect(err.pop()).to.match(
      new RegExp(
        `^overusage: warning: master ${master.id} \\("nl"\\) could not be asked whether it has server 102 \\(.+\\); the link is kept: run overusage master test ${master.id}$`,
      ),
    );
    expect(
      (await db().knex('mod_overusage_services').orderBy('service_id')).map((r) => String(r.server_ref)),
    ).to.deep.equal(['101', '102']);
    await m.clearFaults();
    expect(await cli('master', 'test', String(master.id), '--server', '998')).to.equal(1);
    expect(out.pop()).to.match(/\nserver 998: NOT FOUND on this master \(check the id\)$/);
  });

  it("reads through a SolusVM 1 Reseller API user, who sees only its own clients' servers", async () => {
    const m = await v1Master({ reseller: { apiId: 'rid', apiKey: 'r3seller-key', clientIds: [7] } });
    const master = await fx.mod.masters.add(
      {
        name: 'resold',
        version: 1,
        baseUrl: m.url,
        apiId: 'rid',
        apiKey: 'r3seller-key',
        apiUserType: 'reseller',
        timeZone: 'Europe/Brussels',
        retries: 0,
      },
      CLI_ACTOR,
    );
    const report = await fx.mod.masters.test(master.id);
    expect(report).to.deep.include({ ok: true });
    expect(report.message).to.match(/the Reseller API user is accepted/);
    await fx.mod.links.linkMany(
      [
        { serviceId: 1, clientId: 7, masterId: master.id, serverRef: '101' },
        { serviceId: 2, clientId: 8, masterId: master.id, serverRef: '102' },
      ],
      CLI_ACTOR,
    );
    m.resetStats();
    const r = await fx.mod.metering.collect();
    // 101 is the reseller's client's; 102 is not: "not found" for that VPS alone, the master goes on
    expect(r).to.deep.include({ readOk: 1, failed: 1 });
    expect(r.masters[0]!.status).to.equal('done');
    expect(r.failures[0]).to.deep.include({ kind: 'not_found', services: ['service 2 (server 102)'] });
    expect(m.stats().byAction).to.deep.include({ 'vserver-infoall': 2 });
    // the admin API path was never used, and a reseller cannot list servers
    await fx.mod.masters.servers(master.id).then(
      () => expect.fail('a reseller listed servers'),
      (e: Error) => expect(e.message).to.match(/Reseller API cannot list servers/),
    );
    const bad = await fx.mod.masters.add(
      {
        name: 'resold-bad',
        version: 1,
        baseUrl: m.url,
        apiId: 'rid',
        apiKey: 'wrong-key',
        apiUserType: 'reseller',
        timeZone: 'Europe/Brussels',
        retries: 0,
      },
      CLI_ACTOR,
    );
    expect((await fx.mod.masters.test(bad.id)).ok).to.equal(false);
  });

  it('reads SolusVM 2 limits labelled the old way (TB) as 1024-based, unless the master says decimal', async () => {
    const m = sim.addMaster({
      name: 'v2',
      version: 2,
      zone: 'Europe/Brussels',
      resetPolicy: 'first_of_month',
      credentials: { token: 'tok3n' },
      oldUnitLabels: true,
    });
    m.addServer({
      id: 7,
      hostname: 'vps7.example.net',
      node: { id: 1, name: 'cr-1' },
      clientId: 1,
      type: 'kvm',
      limitBytes: 2n * TiB,
      createdAt: '2012-01-01T00:00:00',
      profile: { kind: 'constant', bytesPerDay: GiB },
    });
    await m.listen();
    // the master sends {"limit": 2, "unit": "TB"}: 2 × 2^40 = 2 199 023 255 552 bytes, not 2 × 10^12
    const binary = await fx.mod.masters.add(
      { name: 'old', version: 2, baseUrl: m.url, token: 'tok3n', timeZone: 'Europe/Brussels', retries: 0 },
      CLI_ACTOR,
    );
    const decimal = await fx.mod.masters.add(
      {
        name: 'old-dec',
        version: 2,
        baseUrl: m.url,
        token: 'tok3n',
        timeZone: 'Europe/Brussels',
        retries: 0,
        unitLabels: 'decimal',
      },
      CLI_ACTOR,
    );
    const read = async (id: number) => {
      const g = createSolusVmGateway(await fx.mod.masters.settings(id));
      try {
        return await g.readTraffic('7');
      } finally {
        g.close();
      }
    };
    const a = await read(binary.id);
    expect(a.limitBytes).to.equal(2_199_023_255_552n);
    expect(a.raw).to.include('limit=2TB');
    expect((await read(decimal.id)).limitBytes).to.equal(2_000_000_000_000n);
  });

  it('says a SolusVM 2 URL is not the API root when the server list is not there', async () => {
    const m = sim.addMaster({
      name: 'v2',
      version: 2,
      zone: 'Europe/Brussels',
      resetPolicy: 'first_of_month',
      credentials: { token: 'tok3n' },
    });
    await m.listen();
    const origin = new URL(m.url).origin;
    const wrong = await fx.mod.masters.add(
      {
        name: 'v2-wrong',
        version: 2,
        baseUrl: `${origin}/panel/api/v1`,
        token: 'tok3n',
        timeZone: 'Europe/Brussels',
        retries: 0,
      },
      CLI_ACTOR,
    );
    const report = await fx.mod.masters.test(wrong.id);
    expect(report.ok).to.equal(false);
    expect(report.message).to.include(
      `There is no SolusVM 2 API at ${origin}/panel/api/v1 (GET /servers answered HTTP 404): the URL must be the API root, ending in /api/v1`,
    );
    const right = await fx.mod.masters.add(
      {
        name: 'v2-right',
        version: 2,
        baseUrl: origin,
        token: 'tok3n',
        timeZone: 'Europe/Brussels',
        retries: 0,
      },
      CLI_ACTOR,
    );
    expect(right.baseUrl).to.equal(`${origin}/api/v1`);
    expect((await fx.mod.masters.test(right.id)).ok).to.equal(true);
  });
});
