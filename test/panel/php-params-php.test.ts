import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { formPairs, parsePhpPairs } from '../../panel/domain/php-params.js';
import { describeEachEngine } from '../support/engines.js';
import { needPhp, phpBuildQuery, phpParseStr } from './php-cli.js';
import { buildPanel, seedStory, serveApi, type PanelFixture, type ServedApi, type Story } from './support.js';

const ours = (body: string): unknown => JSON.parse(JSON.stringify(parsePhpPairs(formPairs(body))));

/**
 * Form bodies read as PHP reads them (issue 19): the panel's parser against php-cli's parse_str on
 * the same bodies, then repeated names over the External API.
 */
describe('PHP-style parameters, against php-cli parse_str', function () {
  this.timeout(60_000);
  before(function () {
    needPhp(this);
  });

  const BODIES = [
    // a name given twice: the last value; then arrays
    'a=1&a=2',
    'a[]=1&a[]=2',
    'a=1&a[]=2&a[]=3',
    'a[]=1&a=2',
    'a[x]=1&a=2&a[y]=3',
    'a[b]=1&a[b][c]=2',
    'a=1&A=2',
    'b[13]=x&b[]=y&b[2]=z&b[]=w',
    'c[k][]=z&c[k][]=y&c[j][5]=q',
    // negative keys count for the next index (-3 then [] → -2), as this php-cli does
    'x[-3]=a&x[-7]=q&x[]=b',
    'x[]=a&x[-1]=b&x[]=c',
    // keys that are strings to PHP: no next index from them
    'x[007]=a&x[]=b',
    'x[1.5]=a&x[]=b',
    'x[-0]=a&x[]=b',
    // PHP_INT_MAX: no next index, PHP drops the value
    'x[9223372036854775807]=a&x[]=b',
    // odd names
    'e.f=3&g h=4& i=5',
    'a[=1',
    'a[b.c=1',
    'a b[c=1',
    'a[b][c=1',
    'a[b]x[c]=1',
    'a.[b]=1',
    'a]=1',
    '[a]=1&b=2',
    'a[b[c]]=1',
    'a[%20b]=1',
    'a%5B%5D=1&a%5B%5D=2',
    'a+b=1&c=d+e',
    '%zz=1&b=%zz',
    '=1&&a&b=',
    'newitemdescription%5B0%5D=Extra+IP&newitemdescription%5B1%5D=Backup&newitemamount%5B0%5D=2.50&newitemamount%5B1%5D=5.00',
    'itemdescription[12]=%E2%82%AC+caf%C3%A9&itemamount[12]=1.00',
  ];

  for (const body of BODIES) {
    it(`reads ${JSON.stringify(body)} as PHP does`, () => {
      expect(ours(body)).to.deep.equal(phpParseStr(body));
    });
  }

  it('reads what http_build_query writes for nested arrays back into the same tree', () => {
    const value = {
      action: 'UpdateInvoice',
      newitemdescription: ['Extra IP', 'Backup & restore'],
      itemamount: { 12: '1.00', 15: '-0.50' },
      customfields: { 3: { a: 'x y', b: ['1', '2'] } },
    };
    const body = phpBuildQuery(value);
    expect(ours(body)).to.deep.equal(phpParseStr(body));
    expect(ours(body)).to.deep.equal({
      action: 'UpdateInvoice',
      newitemdescription: { 0: 'Extra IP', 1: 'Backup & restore' },
      itemamount: { 12: '1.00', 15: '-0.50' },
      customfields: { 3: { a: 'x y', b: { 0: '1', 1: '2' } } },
    });
  });
});

describeEachEngine('repeated names over the External API (issue 19)', ({ db }) => {
  let f: PanelFixture;
  let story: Story;
  let served: ServedApi;
  let app: express.Express;

  before(async function () {
    needPhp(this);
    f = await buildPanel(db().knex, { start: '2025-01-20T09:30:00Z' });
    story = await seedStory(f);
    served = await serveApi(f);
    app = express();
    app.use(f.panel.apiRouter);
  });
  after(async () => {
    await served?.close();
  });

  const auth = () => ({ identifier: served.identifier, secret: served.secret, responsetype: 'json' });
  /** two http_build_query bodies joined: the second repeats names of the first, as such clients send */
  const post = (first: Record<string, unknown>, repeated: Record<string, unknown>) =>
    request(app)
      .post('/includes/api.php')
      .type('form')
      .send(`${phpBuildQuery({ ...first, ...auth() })}&${phpBuildQuery(repeated)}`);

  it('takes the last of a repeated scalar (notes=first&notes=second) and of a repeated list (deletelineids=A&deletelineids=B)', async () => {
    const created = await request(app)
      .post('/includes/api.php')
      .type('form')
      .send(
        phpBuildQuery({
          action: 'CreateInvoice',
          userid: String(story.clientId),
          itemdescription1: 'Line A',
          itemamount1: '10.00',
          itemdescription2: 'Line B',
          itemamount2: '20.00',
          itemdescription3: 'Line C',
          itemamount3: '30.00',
          ...auth(),
        }),
      );
    expect(created.body.result).to.equal('success');
    const invoiceid = String(created.body.invoiceid);
    const before = await f.panel.api.getInvoice(Number(invoiceid));
    const ids = before.items.map((i) => i.id);
    expect(ids).to.have.length(3);
    // 10.00 + 20.00 + 30.00 = 60.00
    expect(before.total).to.equal('60.00');

    const res = await post(
      { action: 'UpdateInvoice', invoiceid, notes: 'first', deletelineids: String(ids[0]) },
      { notes: 'second', deletelineids: String(ids[1]) },
    );
    expect(res.body).to.include({ result: 'success' });
    const after = await f.panel.api.getInvoice(Number(invoiceid));
    expect(after.notes).to.equal('second');
    // PHP reads deletelineids as the last value: line B (20.00) goes, A and C stay: 10.00 + 30.00 = 40.00
    expect(after.items.map((i) => i.description)).to.deep.equal(['Line A', 'Line C']);
    expect(after.total).to.equal('40.00');
  });

  it('takes the last action and invoice id too, as WHMCS would run them', async () => {
    const res = await post(
      { action: 'GetClientsDetails', invoiceid: '999' },
      { action: 'GetInvoice', invoiceid: '1' },
    );
    expect(res.body).to.include({ result: 'success', invoiceid: '1' });
  });
});
