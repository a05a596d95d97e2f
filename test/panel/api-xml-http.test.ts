import { expect } from 'chai';
import { addProductGroup } from '../../panel/records.js';
import { describeEachEngine } from '../support/engines.js';
import { requirePhp } from '../bridge/support.js';
import {
  buildPanel,
  seedStory,
  serveApi,
  snapshot,
  type PanelFixture,
  type ServedApi,
  type Story,
} from './support.js';
import { phpForm, phpOk, phpXmlCall, postForm, type XmlAnswer } from './php-form.js';

/**
 * responsetype=xml over /includes/api.php on 127.0.0.1, each call made wholly by php-cli as a
 * WHMCS PHP client makes it (http_build_query, curl) and its answer read by PHP's own parsers
 * (simplexml_load_string with LIBXML_NOCDATA, xml_parse_into_struct). The layout is WHMCS 7/8's
 * (docs/whmcs.md, "API answers in XML").
 *
 * The story: 20 January 2025. Ann's VPS (19.95 a month, due 1 February) is on renewal invoice #1;
 * she is given 25.00 credit described with quotes, angle brackets and an ampersand, and 5.50 of it
 * goes on invoice #1.
 */
describeEachEngine('API over HTTP: responsetype=xml', ({ db }) => {
  let f: PanelFixture;
  let story: Story;
  let served: ServedApi;
  let backupPid: number;
  const REFUND = 'Refund for "VPS 5 TB" <#1> & more';

  before(async function () {
    requirePhp(this);
    f = await buildPanel(db().knex, { start: '2025-01-20T09:30:00Z' });
    story = await seedStory(f);
    served = await serveApi(f);
    await phpOk(served, `['action' => 'GenInvoices', 'clientid' => ${story.clientId}]`);
    await phpOk(
      served,
      `['action' => 'AddCredit', 'clientid' => ${story.clientId}, 'description' => '${REFUND}', 'amount' => '25.00']`,
    );
    await phpOk(served, `['action' => 'ApplyCredit', 'invoiceid' => 1, 'amount' => '5.50']`);
    const gid = await addProductGroup(f.knex, 'Backup');
    backupPid = Number(
      (
        await phpOk(
          served,
          `['action' => 'AddProduct', 'name' => 'Backup', 'gid' => ${gid}, 'pricing' => [1 => ['monthly' => '2.00'], 2 => ['monthly' => '2.50']]]`,
        )
      ).pid,
    );
  });
  after(async () => {
    await served?.close();
  });

  it("answers in WHMCS's layout, byte for byte: declaration, versioned root, action, a list as its repeated element, CDATA for markup", async () => {
    const a = await phpXmlCall(served, `['action' => 'GetCredits', 'clientid' => ${story.clientId}]`);
    expect(a.status).to.equal(200);
    expect(a.contentType).to.equal('application/xml; charset=utf-8');
    // written out by hand from the layout rules: one element a line, no final new line
    expect(a.raw).to.equal(
      [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<whmcsapi version="8.13.1">',
        '<action>getcredits</action>',
        '<result>success</result>',
        '<totalresults>2</totalresults>',
        `<clientid>${story.clientId}</clientid>`,
        '<credits>',
        '<credit>',
        '<id>1</id>',
        '<date>2025-01-20</date>',
        '<description><![CDATA[Refund for "VPS 5 TB" <#1> & more]]></description>',
        '<amount>25.00</amount>',
        '<relid>0</relid>',
        '</credit>',
        '<credit>',
        '<id>2</id>',
        '<date>2025-01-20</date>',
        '<description>Credit Applied to Invoice #1</description>',
        '<amount>-5.50</amount>',
        '<relid>1</relid>',
        '</credit>',
        '</credits>',
        '</whmcsapi>',
      ].join('\n'),
    );
    // what a PHP client reads: the repeated <credit> is a list of two, the CDATA text as sent
    expect(a.version).to.equal('8.13.1');
    const credits = (a.simple as { credits: { credit: Array<Record<string, string>> } }).credits.credit;
    expect(credits.map((c) => [c.description, c.amount])).to.deep.equal([
      [REFUND, '25.00'],
      ['Credit Applied to Invoice #1', '-5.50'],
    ]);
  });

  it("writes a map inside a block as WHMCS does: GetProducts' prices per currency are one <pricing> each, the codes not written", async () => {
    const a = await phpXmlCall(served, `['action' => 'GetProducts', 'pid' => ${backupPid}]`);
    const json = await phpOk(served, `['action' => 'GetProducts', 'pid' => ${backupPid}]`);
    const product = (
      a.simple as { products: { product: { name: string; pricing: Array<Record<string, unknown>> } } }
    ).products.product;
    // JSON: pricing → EUR → {prefix '€', monthly '2.00', …}, USD → {prefix '$', monthly '2.50', …}
    const byCode = (json.products as { product: Array<{ pricing: Record<string, Record<string, string>> }> })
      .product[0]!.pricing;
    expect(Object.keys(byCode)).to.deep.equal(['EUR', 'USD']);
    expect(product.name).to.equal('Backup');
    expect(product.pricing.map((p) => p.monthly)).to.deep.equal(['2.00', '2.50']);
    expect(product.pricing.map((p) => [p.prefix, p.suffix])).to.deep.equal([
      [byCode.EUR!.prefix, byCode.EUR!.suffix],
      [byCode.USD!.prefix, byCode.USD!.suffix],
    ]);
    expect(a.raw).to.not.match(/<EUR>|<USD>/);
  });

  /** Each leaf of a JSON answer as [element name, PHP's text]: its key, or the nearest key above it that is not a number. */
  function leavesOf(value: unknown, name = '', out: Array<[string, string]> = []): Array<[string, string]> {
    for (const [k, v] of Array.isArray(value)
      ? value.map((x, i) => [String(i), x] as const)
      : Object.entries(value as object)) {
      const here = /^\d+$/.test(k) ? name : k;
      if (v !== null && typeof v === 'object') leavesOf(v, here, out);
      else out.push([here, v === true ? '1' : v === false || v === null ? '' : String(v)]);
    }
    return out;
  }

  it('carries every value of the JSON answer, in order, for the read commands (PHP reads the same text)', async () => {
    const calls = [
      `['action' => 'GetInvoice', 'invoiceid' => 1]`,
      `['action' => 'GetInvoices', 'userid' => ${story.clientId}]`,
      `['action' => 'GetClientsDetails', 'clientid' => ${story.clientId}, 'stats' => true]`,
      `['action' => 'GetClientsProducts', 'clientid' => ${story.clientId}]`,
      `['action' => 'GetProducts']`,
      `['action' => 'GetCredits', 'clientid' => ${story.clientId}]`,
      `['action' => 'GetTransactions', 'clientid' => ${story.clientId}]`,
      `['action' => 'GetEmails', 'clientid' => ${story.clientId}]`,
      `['action' => 'GetConfigurationValue', 'setting' => 'CompanyName']`,
      `['action' => 'GetActivityLog', 'limitnum' => 5]`,
    ];
    // reads: each asked in JSON (one after the other: phpForm runs php synchronously), then all at once in XML
    const jsons: Array<Record<string, unknown>> = [];
    for (const call of calls) jsons.push(await phpOk(served, call));
    const xmls = await Promise.all(calls.map((call) => phpXmlCall(served, call)));
    for (const [i, call] of calls.entries()) {
      const [json, xml] = [jsons[i]!, xmls[i]!];
      expect(xml.simple, call).to.not.equal(false);
      const action = /'action' => '(\w+)'/.exec(call)![1]!.toLowerCase();
      // an element opened for a block whose lists are all empty (no transactions: <transactions>\n</transactions>) holds only its new line
      const texts = xml.leaves.filter(([, text]) => text !== '\n');
      expect(texts, call).to.deep.equal([['action', action], ...leavesOf(json)]);
    }
  });

  it('error answers: an empty version, the action, result and message; refused credentials keep their 403', async () => {
    const missing = await phpXmlCall(served, `['action' => 'GetClientsDetails', 'clientid' => 99]`);
    expect(missing.status).to.equal(200);
    expect(missing.raw).to.equal(
      [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<whmcsapi version="">',
        '<action>getclientsdetails</action>',
        '<result>error</result>',
        '<message>Client Not Found</message>',
        '</whmcsapi>',
      ].join('\n'),
    );
    const unknown = await phpXmlCall(served, `['action' => 'Get-Nothing']`);
    // WHMCS's ActionFilter: lower case, letters and digits only
    expect(unknown.simple).to.deep.equal({
      '@attributes': { version: '' },
      action: 'getnothing',
      result: 'error',
      message: 'Command Not Found',
    });
    const denied = await phpXmlCall(served, `['action' => 'GetInvoice', 'invoiceid' => 1]`, {
      secret: 'wrong',
    });
    expect([denied.status, denied.contentType, denied.version]).to.deep.equal([
      403,
      'application/xml; charset=utf-8',
      '',
    ]);
    expect(denied.simple).to.deep.equal({
      '@attributes': { version: '' },
      action: 'getinvoice',
      result: 'error',
      message: 'Authentication Failed',
    });
  });

  it('a refused AddOrder in XML writes nothing; XML in any case is XML; other formats are refused in JSON; GetAdminUsers is always JSON', async () => {
    const before = await snapshot(f.knex);
    const refused = await phpXmlCall(
      served,
      `['action' => 'AddOrder', 'clientid' => ${story.clientId}, 'paymentmethod' => 'banktransfer', 'pid' => [99]]`,
      { responsetype: 'XML' },
    );
    expect(refused.simple).to.deep.equal({
      '@attributes': { version: '' },
      action: 'addorder',
      result: 'error',
      message: 'Product ID Not Found: 99',
    });
    expect(await snapshot(f.knex)).to.deep.equal(before);
    for (const t of ['yaml', 'php']) {
      const a = await fetch(`${served.url}includes/api.php`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: phpForm(`['action' => 'GetInvoice', 'invoiceid' => 1]`, {
          identifier: served.identifier,
          secret: served.secret,
          responsetype: t,
        }),
      });
      expect(a.status).to.equal(400);
      expect(await a.json()).to.deep.equal({
        result: 'error',
        message: `Unsupported API response type format "${t}". Supported formats include: json, xml, nvp`,
      });
    }
    const admins = await fetch(`${served.url}includes/api.php`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: phpForm(`['action' => 'GetAdminUsers']`, {
        identifier: served.identifier,
        secret: served.secret,
        responsetype: 'xml',
      }),
    });
    expect(admins.headers.get('content-type')).to.match(/^application\/json/);
    expect(((await admins.json()) as { result: string }).result).to.equal('success');
    // and without responsetype the panel keeps to JSON
    const plain = await postForm(
      served,
      phpForm(`['action' => 'GetInvoice', 'invoiceid' => 1]`, {
        identifier: served.identifier,
        secret: served.secret,
      }),
    );
    expect(plain.body.result).to.equal('success');
  });

  /** Every command of one half of the list, called with no parameters but its name: the answer parses and names it. */
  async function everyCommand(half: 0 | 1) {
    const all = f.panel.commands.names().filter((n) => n !== 'GetAdminUsers');
    const names = half === 0 ? all.slice(0, 15) : all.slice(15);
    // six php clients at a time: each call is a php-cli start
    const answers: Array<[string, XmlAnswer]> = [];
    for (let i = 0; i < names.length; i += 6)
      answers.push(
        ...(await Promise.all(
          names
            .slice(i, i + 6)
            .map(async (n) => [n, await phpXmlCall(served, `['action' => '${n}']`)] as [string, XmlAnswer]),
        )),
      );
    // 31 commands (GetPromotions the latest) less GetAdminUsers: 15 in each half
    expect(answers).to.have.length(15);
    for (const [name, a] of answers) {
      expect(a.status, name).to.equal(200);
      expect(a.simple, `${name}: ${a.raw}`).to.not.equal(false);
      const s = a.simple as Record<string, unknown>;
      expect(s.action, name).to.equal(name.toLowerCase());
      expect(['success', 'error'], name).to.include(s.result);
      if (s.result === 'error') expect(s.message, name).to.be.a('string').and.not.equal('');
    }
  }
  it('every command answers XML that PHP parses, naming the command and its result (first half)', () =>
    everyCommand(0));
  it('every command answers XML that PHP parses, naming the command and its result (second half)', () =>
    everyCommand(1));
});
