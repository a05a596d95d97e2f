import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { setClientPassword } from '../../panel/web/passwords.js';
import { addClient, addConfigOptionGroup, addProduct, addProductCustomField } from '../../panel/records.js';
import { describeEachEngine } from '../support/engines.js';
import { needPhp, phpBuildQuery } from './php-cli.js';
import { buildPanel, serveApi, ZONE, type PanelFixture, type ServedApi } from './support.js';

/**
 * ValidateLogin, GetClientsDetails' derived fields and GetProducts' custom fields and configurable
 * options over POST /includes/api.php, every body built by php-cli's http_build_query as WHMCS's
 * PHP clients build it (issue 19).
 */
describeEachEngine('API: ValidateLogin, client details, products (issue 19)', ({ db }) => {
  let f: PanelFixture;
  let served: ServedApi;
  let app: express.Express;
  let siobhan: number;
  let bram: number;
  let closed: number;

  before(async function () {
    needPhp(this);
    // 09:30 UTC on 20 January = 10:30 in Brussels (CET, +1)
    f = await buildPanel(db().knex, { start: '2025-01-20T09:30:00Z' });
    served = await serveApi(f);
    app = express();
    app.use(f.panel.apiRouter);
    const now = f.clock.now();
    siobhan = await addClient(
      f.knex,
      { firstname: 'Siobhán', lastname: "O'Brien", email: 'siobhan@example.be', country: 'BE' },
      now,
      ZONE,
    );
    bram = await addClient(
      f.knex,
      { firstname: 'Bram', lastname: 'de Vries', email: 'bram@example.nl', country: 'NL' },
      now,
      ZONE,
    );
    closed = await addClient(
      f.knex,
      { firstname: 'Old', lastname: 'Account', email: 'old@example.be', country: 'BE' },
      now,
      ZONE,
    );
    await f
      .knex('tblclients')
      .where({ id: siobhan })
      .update({ phonenumber: '470 12 34 56', state: 'Antwerpen' });
    // already in WHMCS's international form: the code before the dot wins over the country's
    await f.knex('tblclients').where({ id: bram }).update({ phonenumber: '+31.20 123 4567' });
    await f.knex('tblclients').where({ id: closed }).update({ status: 'Closed' });
    for (const id of [siobhan, closed]) await setClientPassword(f.knex, id, 'correct horse', now, ZONE);
  });
  after(async () => {
    await served?.close();
  });

  const call = (params: Record<string, unknown>) =>
    request(app)
      .post('/includes/api.php')
      .type('form')
      .send(
        phpBuildQuery({
          ...params,
          identifier: served.identifier,
          secret: served.secret,
          responsetype: 'json',
        }),
      );

  it('GetClientsDetails adds statecode, countryname, phonecc, phonenumberformatted and lastlogin', async () => {
    const a = await call({ action: 'GetClientsDetails', clientid: String(siobhan), stats: true });
    expect(a.body.result).to.equal('success');
    expect(a.body.client).to.include({
      state: 'Antwerpen',
      statecode: 'Antwerpen',
      countrycode: 'BE',
      countryname: 'Belgium',
      phonenumber: '470 12 34 56',
      // Belgium's calling code is 32; the digits of "470 12 34 56"
      phonecc: '32',
      phonenumberformatted: '+32.470123456',
      telephoneNumber: '+32.470123456',
      lastlogin: 'No Login Logged',
    });
    expect(a.body.stats).to.include({ numdueinvoices: '0', creditbalance: '€0.00 EUR' });
    const b = await call({ action: 'GetClientsDetails', email: 'bram@example.nl' });
    expect(b.body.client).to.include({
      countryname: 'Netherlands',
      phonecc: '31',
      phonenumberformatted: '+31.201234567',
    });
    expect(b.body).to.not.have.property('stats');
  });

  it('ValidateLogin answers userid and a session token for the right password, and records the login', async () => {
    const ok = await call({
      action: 'ValidateLogin',
      email: 'SIOBHAN@example.be',
      password2: 'correct horse',
    });
    expect(ok.body).to.include({ result: 'success', userid: siobhan, twoFactorEnabled: false });
    expect(ok.body.passwordhash).to.match(/^[0-9a-f]{40}$/);
    // a fresh token each time, as each login starts a session
    const again = await call({
      action: 'ValidateLogin',
      email: 'siobhan@example.be',
      password2: 'correct horse',
    });
    expect(again.body.passwordhash).to.not.equal(ok.body.passwordhash);
    const details = await call({ action: 'GetClientsDetails', clientid: String(siobhan) });
    // 09:30 UTC = 10:30 Brussels, the panel's DateFormat DD/MM/YYYY; the API caller's address
    expect(details.body.client.lastlogin).to.equal(
      'Date: 20/01/2025 10:30<br>IP Address: 127.0.0.1<br>Host: 127.0.0.1',
    );
  });

  it('ValidateLogin refuses a wrong password, an unknown email, a closed account or a missing field alike, and records nothing', async () => {
    const before = await f.knex('tblclients').orderBy('id').select('id', 'lastlogin', 'ip');
    for (const params of [
      { email: 'siobhan@example.be', password2: 'wrong horse' },
      { email: 'nobody@example.be', password2: 'correct horse' },
      { email: 'old@example.be', password2: 'correct horse' },
      // a client without a password (never set) cannot log in with an empty one
      { email: 'bram@example.nl', password2: '' },
      { email: 'siobhan@example.be' },
      { password2: 'correct horse' },
    ]) {
      const res = await call({ action: 'ValidateLogin', ...params });
      expect(res.status).to.equal(200);
      expect(res.body, JSON.stringify(params)).to.deep.equal({
        result: 'error',
        message: 'Email or Password Invalid',
      });
    }
    expect(await f.knex('tblclients').orderBy('id').select('id', 'lastlogin', 'ip')).to.deep.equal(before);
  });

  it('GetProducts lists pricing, the order-form custom fields and the configurable options in WHMCS shape', async () => {
    const now = f.clock.now();
    const pid = await addProduct(
      f.knex,
      { name: 'VPS 5 TB', servertype: 'solusvmpro', monthly: { EUR: '19.95', USD: '21.50' } },
      now,
      ZONE,
    );
    await addProductCustomField(f.knex, pid, 'vserverid', { adminonly: true });
    const hostField = await addProductCustomField(f.knex, pid, 'Hostname', {
      description: 'Fully qualified',
      required: true,
      showorder: true,
    });
    const group = await addConfigOptionGroup(f.knex, pid, {
      name: 'VPS extras',
      options: [
        {
          name: 'Extra IPv4',
          type: 4,
          qtyminimum: 0,
          qtymaximum: 8,
          choices: [{ name: 'IP', pricing: { EUR: { monthly: '2.50', msetupfee: '1.00' } } }],
        },
        {
          name: 'Location',
          type: 1,
          choices: [
            { name: 'bru|Brussels' },
            { name: 'ams|Amsterdam', pricing: { EUR: { monthly: '1.5' } } },
          ],
        },
      ],
    });
    const other = await addProduct(f.knex, { name: 'Plain', monthly: { EUR: '5.00' } }, now, ZONE);
    const res = await call({ action: 'GetProducts', pid: String(pid) });
    expect(res.body).to.include({ result: 'success', totalresults: '1' });
    const [p] = res.body.products.product;
    expect(p).to.include({ pid: String(pid), name: 'VPS 5 TB', module: 'solusvmpro' });
    // products: an unoffered cycle is -1.00
    expect(p.pricing.EUR).to.include({
      prefix: '€',
      suffix: ' EUR',
      monthly: '19.95',
      msetupfee: '0.00',
      annually: '-1.00',
    });
    expect(p.pricing.USD).to.include({ prefix: '$', monthly: '21.50' });
    // only the field shown on the order form, not the admin-only vserverid
    expect(p.customfields).to.deep.equal({
      customfield: [{ id: hostField, name: 'Hostname', description: 'Fully qualified', required: 'on' }],
    });
    const zeros = {
      qsetupfee: '0.00',
      ssetupfee: '0.00',
      asetupfee: '0.00',
      bsetupfee: '0.00',
      tsetupfee: '0.00',
      quarterly: '0.00',
      semiannually: '0.00',
      annually: '0.00',
      biennially: '0.00',
      triennially: '0.00',
    };
    expect(p.configoptions).to.deep.equal({
      configoption: [
        {
          id: group.optionIds[0],
          name: 'Extra IPv4',
          type: '4',
          minqty: 0,
          maxqty: 8,
          options: {
            option: [
              {
                id: group.choiceIds[0]![0],
                name: 'IP',
                rawName: 'IP',
                recurring: 0,
                required: null,
                pricing: { EUR: { ...zeros, msetupfee: '1.00', monthly: '2.50' } },
              },
            ],
          },
        },
        {
          id: group.optionIds[1],
          name: 'Location',
          type: '1',
          minqty: 0,
          maxqty: 0,
          options: {
            option: [
              {
                id: group.choiceIds[1]![0],
                name: 'Brussels',
                rawName: 'bru|Brussels',
                recurring: 0,
                required: null,
                pricing: {},
              },
              // "1.5" stored as 1.50
              {
                id: group.choiceIds[1]![1],
                name: 'Amsterdam',
                rawName: 'ams|Amsterdam',
                recurring: 0,
                required: null,
                pricing: { EUR: { ...zeros, msetupfee: '0.00', monthly: '1.50' } },
              },
            ],
          },
        },
      ],
    });
    const plain = await call({ action: 'GetProducts', pid: String(other) });
    expect(plain.body.products.product[0]).to.deep.include({
      customfields: { customfield: [] },
      configoptions: { configoption: [] },
    });
  });
});
