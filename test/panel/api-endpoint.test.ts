import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { createLogger } from '../../module/adapters/logger.js';
import { createApiRouter } from '../../panel/api-router.js';
import { describeEachEngine } from '../support/engines.js';
import {
  buildPanel,
  seedStory,
  serveApi,
  snapshot,
  type PanelFixture,
  type ServedApi,
  type Story,
} from './support.js';

/**
 * Bad calls to POST /includes/api.php: each gets WHMCS's error envelope, never a 500, and leaves
 * the database exactly as it was.
 */
describeEachEngine('External API endpoint', ({ db }) => {
  let f: PanelFixture;
  let story: Story;
  let served: ServedApi;
  let app: express.Express;
  const lines: string[] = [];

  before(async () => {
    f = await buildPanel(db().knex, {
      start: '2025-01-20T09:30:00Z',
      log: createLogger({ write: (l) => void lines.push(l) }),
    });
    story = await seedStory(f);
    served = await serveApi(f);
    app = express();
    app.use(f.panel.apiRouter);
    await f.panel.api.genInvoices({ clientId: story.clientId });
  });
  after(async () => {
    await served?.close();
  });

  const post = (form: Record<string, string> | string) =>
    request(app).post('/includes/api.php').type('form').send(form);
  const auth = () => ({ identifier: served.identifier, secret: served.secret, responsetype: 'json' });

  /** runs the call and asserts the envelope, the status and that nothing was written */
  async function refusedUnchanged(
    form: Record<string, string> | string,
    status: number,
    message: string | RegExp,
  ) {
    const before = await snapshot(f.knex);
    const res = await post(form);
    expect(res.status, JSON.stringify(res.body)).to.equal(status);
    expect(res.type).to.equal('application/json');
    expect(res.body.result).to.equal('error');
    if (typeof message === 'string') expect(res.body.message).to.equal(message);
    else expect(res.body.message).to.match(message);
    expect(await snapshot(f.knex)).to.deep.equal(before);
  }

  it('answers a good call with the success envelope', async () => {
    const res = await post({ action: 'GetInvoice', invoiceid: '1', ...auth() });
    expect(res.status).to.equal(200);
    expect(res.body).to.include({ result: 'success', invoiceid: '1', total: '19.95' });
  });

  it('refuses missing and wrong credentials with "Authentication Failed"', async () => {
    await refusedUnchanged({ action: 'GetInvoice', invoiceid: '1' }, 403, 'Authentication Failed');
    await refusedUnchanged(
      { action: 'GetInvoice', invoiceid: '1', identifier: served.identifier, secret: 'wrong' },
      403,
      'Authentication Failed',
    );
    await refusedUnchanged(
      { action: 'GetInvoice', invoiceid: '1', identifier: 'nobody', secret: served.secret },
      403,
      'Authentication Failed',
    );
    await refusedUnchanged(
      { action: 'UpdateInvoice', invoiceid: '1', notes: 'x', username: 'admin', password: 'not-md5' },
      403,
      'Authentication Failed',
    );
  });

  it('accepts the credentials as username/password, and the legacy admin login with md5(password)', async () => {
    const asPair = await post({
      action: 'GetConfigurationValue',
      setting: 'Language',
      username: served.identifier,
      password: served.secret,
    });
    expect(asPair.body).to.include({ result: 'success', value: 'english' });
    const md5 = (await import('node:crypto')).createHash('md5').update('admin-password').digest('hex');
    const legacy = await post({
      action: 'GetConfigurationValue',
      setting: 'Language',
      username: 'admin',
      password: md5,
    });
    expect(legacy.body).to.include({ result: 'success', value: 'english' });
  });

  it('refuses an address outside the allow-list with "Invalid IP", unless the access key is given', async () => {
    await f.setting('APIAllowedIPs', '10.0.0.1');
    try {
      await refusedUnchanged(
        { action: 'GetInvoice', invoiceid: '1', ...auth() },
        403,
        'Invalid IP 127.0.0.1',
      );
      const keyed = express().use(
        createApiRouter({ core: f.panel.core, commands: f.panel.commands, accessKey: 'the-access-key' }),
      );
      const withKey = await request(keyed)
        .post('/includes/api.php')
        .type('form')
        .send({ action: 'GetInvoice', invoiceid: '1', accesskey: 'the-access-key', ...auth() });
      expect(withKey.body).to.include({ result: 'success', invoiceid: '1' });
      const wrongKey = await request(keyed)
        .post('/includes/api.php')
        .type('form')
        .send({ action: 'GetInvoice', invoiceid: '1', accesskey: 'nope', ...auth() });
      expect(wrongKey.body).to.deep.equal({ result: 'error', message: 'Invalid IP 127.0.0.1' });
    } finally {
      await f.setting('APIAllowedIPs', '127.0.0.1,::1');
    }
  });

  it('refuses an unknown action with "Command Not Found" (after authentication)', async () => {
    await refusedUnchanged({ action: 'DeleteEverything', ...auth() }, 200, 'Command Not Found');
    await refusedUnchanged({ ...auth() }, 200, 'Command Not Found');
    await refusedUnchanged({ action: 'Nope' }, 403, 'Authentication Failed');
  });

  it('reports bad ids as WHMCS does', async () => {
    await refusedUnchanged(
      { action: 'GetInvoice', invoiceid: 'abc', ...auth() },
      200,
      'Invoice ID Not Found',
    );
    await refusedUnchanged({ action: 'GetInvoice', invoiceid: '-1', ...auth() }, 200, 'Invoice ID Not Found');
    await refusedUnchanged(
      { action: 'UpdateInvoice', invoiceid: '99999', notes: 'x', ...auth() },
      200,
      'Invoice ID Not Found',
    );
    await refusedUnchanged(
      { action: 'AddInvoicePayment', invoiceid: '1.5', transid: 't', gateway: 'g', ...auth() },
      200,
      'Invoice ID Not Found',
    );
    await refusedUnchanged(
      { action: 'UpdateClientProduct', serviceid: 'x', status: 'Active', ...auth() },
      200,
      'Service ID Not Found',
    );
    await refusedUnchanged(
      { action: 'CreateInvoice', userid: '0', itemdescription1: 'a', itemamount1: '1', ...auth() },
      200,
      'Client ID Not Found',
    );
    await refusedUnchanged({ action: 'ModuleSuspend', ...auth() }, 200, 'Service ID is required');
  });

  it('refuses malformed arrays and amounts without writing anything', async () => {
    const base = `action=UpdateInvoice&invoiceid=1&identifier=${served.identifier}&secret=${encodeURIComponent(served.secret)}`;
    await refusedUnchanged(
      `${base}&newitemdescription[]=x&newitemamount=abc`,
      200,
      /^Invalid newitemamount: an array is expected/,
    );
    await refusedUnchanged(
      `${base}&newitemdescription[]=x&newitemdescription[]=y&newitemamount[]=1.00`,
      200,
      /^Missing Variables: newitemdescription/,
    );
    await refusedUnchanged(
      `${base}&newitemdescription[]=x&newitemamount[]=abc&newitemtaxed[]=1`,
      200,
      'Amount must be in decimal format: ### or ###.##',
    );
    await refusedUnchanged(
      `${base}&newitemdescription[a]=x&newitemamount[a]=1`,
      200,
      /^Invalid newitemdescription: an array is expected/,
    );
    await refusedUnchanged(
      `${base}&itemdescription[1]=x&itemamount[1]=2`,
      200,
      'Missing Variables: itemdescription, itemamount and itemtaxed are required for each item being changed',
    );
    await refusedUnchanged(
      `${base}&itemdescription[1]=x&itemamount[1]=1e5&itemtaxed[1]=0`,
      200,
      'Amount must be in decimal format: ### or ###.##',
    );
    // one value where a list is expected is a list of that value (issue 19: what PHP reads from deletelineids=…&deletelineids=…)
    await refusedUnchanged(`${base}&deletelineids=abc`, 200, 'Invoice Item ID Not Found: abc');
    await refusedUnchanged(`${base}&deletelineids[]=abc`, 200, 'Invoice Item ID Not Found: abc');
    await refusedUnchanged(`${base}&invoiceid[]=1&notes=x`, 200, 'Invoice ID Not Found');
    await refusedUnchanged(
      `${base}&notes[]=x`,
      200,
      'Invalid notes: a single value is expected, not an array',
    );
    await refusedUnchanged(
      `${base}&taxrate=twenty`,
      200,
      'Tax rate must be a number between 0 and 100 with at most 3 decimals',
    );
    await refusedUnchanged(
      `${base}&newitemdescription[]=ok&newitemamount[]=1.00&duedate=2025-13-01`,
      200,
      "Invalid Date Format - Expected: 'YYYY-mm-dd'",
    );
    const customfields = `action=UpdateClientProduct&serviceid=${story.serviceId}&bwusage=5&customfields=%%%&identifier=${served.identifier}&secret=${encodeURIComponent(served.secret)}`;
    await refusedUnchanged(customfields, 200, /^Invalid customfields/);
    const vars = `action=SendEmail&messagename=Client%20Signup%20Email&id=${story.clientId}&customvars=${Buffer.from('O:8:"stdClass":0:{}').toString('base64')}&identifier=${served.identifier}&secret=${encodeURIComponent(served.secret)}`;
    await refusedUnchanged(vars, 200, 'The custom variables you provided are invalid.');
  });

  it('answers other methods and unreadable bodies with the envelope too', async () => {
    const get = await request(app).get('/includes/api.php');
    expect(get.status).to.equal(405);
    expect(get.body.result).to.equal('error');
    const huge = await request(app)
      .post('/includes/api.php')
      .type('form')
      .send(`action=GetInvoice&x=${'a'.repeat(3 * 1024 * 1024)}`);
    expect(huge.status).to.equal(413);
    expect(huge.body).to.deep.equal({ result: 'error', message: 'Request body too large' });
    const many = Array.from({ length: 1001 }, (_, i) => `p${i}=1`).join('&');
    await refusedUnchanged(many, 400, 'Too many parameters (the limit is 1000)');
    const garbage = await request(app)
      .post('/includes/api.php')
      .set('content-type', 'application/json')
      .send('{"action":"GetInvoice"');
    expect(garbage.status).to.equal(403);
    expect(garbage.body).to.deep.equal({ result: 'error', message: 'Authentication Failed' });
  });

  it('never logs secrets or parameters, and logs who called in the activity log', async () => {
    await post({ action: 'LogActivity', description: 'from the api', ...auth() });
    const row = await f.knex('tblactivitylog').where({ description: 'from the api' }).first();
    expect(row).to.include({ user: 'admin', ipaddr: '127.0.0.1' });
    const text = lines.join('\n');
    expect(text).to.contain('panel.api_request');
    expect(text).not.to.contain(served.secret);
    expect(text).not.to.contain('from the api');
  });
});
