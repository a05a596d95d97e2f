import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { run } from '../../cli/main.js';
import { createAdmin } from '../../panel/index.js';
import { authenticateApi } from '../../panel/auth.js';
import { describeEachEngine } from '../support/engines.js';
import { buildPanel, ZONE, type PanelFixture } from './support.js';

/**
 * `overusage panel client|product|service add`, `panel api-credential create|revoke` and
 * `panel cron` on a panel database that is not the demo's (issue 19), on both engines. Exit codes
 * as the README lists them, written as numbers: 0 done, 2 bad input, 3 not found, 4 conflict.
 */
describeEachEngine('overusage panel … on any panel database (issue 19)', ({ db }) => {
  let f: PanelFixture;
  let dir: string;

  before(async () => {
    f = await buildPanel(db().knex, { start: '2025-03-01T08:00:00Z' });
    await createAdmin(f.knex, { username: 'ops', password: 'ops-password' }, f.clock.now(), ZONE);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-panel-cli-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await run(['--db', db().url, '--zone', ZONE, ...args], {
      out: (s) => out.push(s),
      err: (s) => err.push(s),
      isTTY: false,
      env: { OVERUSAGE_DATA_DIR: dir, OVERUSAGE_LOG_LEVEL: 'error' },
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }
  const json = async (...args: string[]) => {
    const r = await cli('--json', ...args);
    expect(r.code, r.err || r.out).to.equal(0);
    return JSON.parse(r.out) as Record<string, unknown>;
  };

  let clientid = 0;
  let pid = 0;

  it('adds a client, and refuses a second one with the same email (4) and a bad email (2)', async () => {
    ({ clientid } = (await json(
      'panel',
      'client',
      'add',
      '--firstname',
      'Émilie',
      '--lastname',
      'Dubois',
      '--email',
      'emilie@example.be',
      '--country',
      'be',
      '--password',
      'a long password',
      '--date',
      '2025-03-01',
    )) as { clientid: number });
    const row = await f.knex('tblclients').where({ id: clientid }).first();
    expect(row).to.include({ firstname: 'Émilie', lastname: 'Dubois', country: 'BE', status: 'Active' });
    const dup = await cli(
      'panel',
      'client',
      'add',
      '--firstname',
      'E',
      '--lastname',
      'D',
      '--email',
      'EMILIE@example.be',
    );
    expect(dup.code).to.equal(4);
    expect(dup.err).to.equal('overusage: AddClient: A client already exists with that email address');
    const bad = await cli(
      'panel',
      'client',
      'add',
      '--firstname',
      'E',
      '--lastname',
      'D',
      '--email',
      'not-an-address',
    );
    expect(bad.code).to.equal(2);
    expect(bad.err).to.equal('overusage: AddClient: The email address you entered was not valid');
    const missing = await cli('panel', 'client', 'add', '--firstname', 'E');
    expect(missing.code).to.equal(2);
  });

  it('adds a product with its prices and a custom field, in a group made by name; refuses a bad price (2) and an unknown currency (3)', async () => {
    const r = await json(
      'panel',
      'product',
      'add',
      '--name',
      'VPS 1 TB',
      '--module',
      'solusvmpro',
      '--price',
      'monthly=19.95',
      'msetupfee=5.00',
      '--custom-field',
      'vserverid',
    );
    pid = Number(r.pid);
    expect(r.customfields).to.have.property('vserverid');
    const products = await f.panel.commands.execute(
      'GetProducts',
      { pid: String(pid) },
      { source: 'localapi', user: 'system' },
    );
    const p = (
      products as unknown as {
        products: { product: Array<{ module: string; pricing: { EUR: Record<string, string> } }> };
      }
    ).products.product[0]!;
    expect(p.module).to.equal('solusvmpro');
    expect(p.pricing.EUR).to.include({ monthly: '19.95', msetupfee: '5.00', annually: '-1.00' });
    expect(await f.knex('tblproductgroups').where({ name: 'Servers' }).select('id')).to.have.length(1);
    const bad = await cli('panel', 'product', 'add', '--name', 'Bad', '--price', 'monthly=abc');
    expect([bad.code, bad.err]).to.deep.equal([
      2,
      'overusage: AddProduct: Amount must be in decimal format: ### or ###.##',
    ]);
    const form = await cli('panel', 'product', 'add', '--name', 'Bad', '--price', 'monthly');
    expect([form.code, form.err]).to.deep.equal([2, 'overusage: --price takes NAME=VALUE, not "monthly"']);
    const cur = await cli(
      'panel',
      'product',
      'add',
      '--name',
      'Bad',
      '--currency',
      'XYZ',
      '--price',
      'monthly=1.00',
    );
    expect(cur.code).to.equal(3);
    expect(await f.knex('tblproducts').where({ name: 'Bad' }).select('id')).to.deep.equal([]);
  });

  it('adds a service: the order accepted, the service Active with its vserverid, the first invoice 19.95 + 5.00 setup = 24.95; refuses an unknown client or field (3)', async () => {
    const r = await json(
      'panel',
      'service',
      'add',
      '--client',
      String(clientid),
      '--product',
      String(pid),
      '--domain',
      'vps1.example.be',
      '--field',
      'vserverid=101',
      '--date',
      '2025-03-01',
    );
    expect(r.status).to.equal('Active');
    const svc = await f
      .knex('tblhosting')
      .where({ id: Number(r.serviceid) })
      .first();
    expect(svc).to.include({ domain: 'vps1.example.be', domainstatus: 'Active', billingcycle: 'Monthly' });
    expect(String(svc.regdate).slice(0, 10)).to.equal('2025-03-01');
    const field = await f
      .knex('tblcustomfieldsvalues as v')
      .join('tblcustomfields as c', 'c.id', 'v.fieldid')
      .where({ 'v.relid': Number(r.serviceid), 'c.fieldname': 'vserverid' })
      .first('v.value');
    expect(field.value).to.equal('101');
    const inv = await f.panel.api.getInvoice(Number(r.invoiceid));
    expect([inv.total, inv.status, inv.dueDate]).to.deep.equal(['24.95', 'Unpaid', '2025-03-01']);
    const nobody = await cli('panel', 'service', 'add', '--client', '999', '--product', String(pid));
    expect([nobody.code, nobody.err]).to.deep.equal([3, 'overusage: AddOrder: Client ID Not Found']);
    const nofield = await cli(
      'panel',
      'service',
      'add',
      '--client',
      String(clientid),
      '--product',
      String(pid),
      '--field',
      'nope=1',
    );
    expect([nofield.code, nofield.err]).to.deep.equal([
      3,
      `overusage: product ${pid} has no custom field "nope" (it has: vserverid)`,
    ]);
    expect(await f.knex('tblhosting').select('id')).to.have.length(1);
  });

  it('runs the daily cron on this database: suspends on due + 7 days, and after payment invoices the renewal 14 days ahead', async () => {
    // the first invoice is due 1 March and unpaid; AutoSuspensionDays 7 → suspended on 8 March, not the 7th
    const a = await json('panel', 'cron', '--date', '2025-03-07', '--to', '2025-03-08');
    expect(
      (a.days as Array<{ date: string; suspensions: number }>).map((d) => [d.date, d.suspensions]),
    ).to.deep.equal([
      ['2025-03-07', 0],
      ['2025-03-08', 1],
    ]);
    expect((await f.knex('tblhosting').first('domainstatus')).domainstatus).to.equal('Suspended');
    const invoiceid = Number((await f.knex('tblinvoices').first('id')).id);
    f.clock.set('2025-03-10T09:00:00Z');
    await f.panel.api.addInvoicePayment({
      invoiceId: invoiceid,
      transId: 'BANK-1',
      gateway: 'banktransfer',
      date: '2025-03-10 10:00:00',
    });
    // paid: next due 1 April; CreateInvoiceDaysBefore 14 → the renewal invoice on 18 March (1 April − 14 days), none on the 17th
    const b = await json('panel', 'cron', '--date', '2025-03-17', '--to', '2025-03-18');
    expect(
      (b.days as Array<{ date: string; invoices: number }>).map((d) => [d.date, d.invoices]),
    ).to.deep.equal([
      ['2025-03-17', 0],
      ['2025-03-18', 1],
    ]);
    const renewal = await f.knex('tblinvoices').whereNot({ id: invoiceid }).first('id');
    const inv = await f.panel.api.getInvoice(Number(renewal.id));
    // the recurring 19.95 alone, without the setup fee
    expect([inv.total, inv.dueDate]).to.deep.equal(['19.95', '2025-04-01']);
    const back = await cli('panel', 'cron', '--date', '2025-03-18', '--to', '2025-03-17');
    expect(back.code).to.equal(2);
  });

  it('creates an API credential for an admin, printing the secret once; revokes it; refuses an unknown admin (3)', async () => {
    const made = await json(
      'panel',
      'api-credential',
      'create',
      '--admin',
      'ops',
      '--description',
      'scenario',
    );
    const { identifier, secret } = made as { identifier: string; secret: string };
    expect(await authenticateApi(f.knex, { identifier, secret })).to.deep.equal({
      adminId: Number((await f.knex('tbladmins').where({ username: 'ops' }).first('id')).id),
    });
    expect(
      JSON.stringify(await f.knex('tbldeviceauth').select(), (_k, v: unknown) =>
        typeof v === 'bigint' ? String(v) : v,
      ),
    ).to.not.include(secret);
    const human = await cli('panel', 'api-credential', 'create', '--admin', 'ops');
    expect(human.out).to.match(
      /^identifier: [0-9a-f]{32}\nsecret: {5}[A-Za-z0-9_-]{32}\n\(the secret is shown this once: keep it now\)$/,
    );
    const unknown = await cli('panel', 'api-credential', 'create', '--admin', 'nobody');
    expect([unknown.code, unknown.err]).to.deep.equal([
      3,
      'overusage: there is no admin "nobody" in this panel',
    ]);
    expect((await cli('panel', 'api-credential', 'revoke', '--identifier', identifier)).code).to.equal(0);
    expect(await authenticateApi(f.knex, { identifier, secret })).to.equal(null);
    expect((await cli('panel', 'api-credential', 'revoke', '--identifier', identifier)).code).to.equal(3);
  });
});
