import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { PanelApiError } from '../../module/adapters/panel-api.js';
import { apiEndpoint, createWhmcsHttpApi, parsePanelJson } from '../../module/adapters/whmcs-http-api.js';

type Handler = (
  req: { url: string; body: URLSearchParams; raw: string; headers: http.IncomingHttpHeaders },
  res: http.ServerResponse,
) => void;

/** A stand-in for a WHMCS api.php on 127.0.0.1 whose answers each test scripts. */
async function fakePanel() {
  let handler: Handler = (_req, res) => res.end('{}');
  const seen: Array<{ url: string; body: URLSearchParams; raw: string }> = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const entry = { url: req.url ?? '', body: new URLSearchParams(raw), raw, headers: req.headers };
      seen.push(entry);
      handler(entry, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}/billing`,
    seen,
    answer(h: Handler) {
      handler = h;
    },
    json(body: unknown, status = 200) {
      handler = (_req, res) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(typeof body === 'string' ? body : JSON.stringify(body));
      };
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const catchErr = async (p: Promise<unknown>): Promise<PanelApiError> => {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(PanelApiError);
    return err as PanelApiError;
  }
  throw new Error('expected a PanelApiError');
};

describe('WHMCS HTTP API client', () => {
  let panel: Awaited<ReturnType<typeof fakePanel>>;
  const make = (opts: Partial<Parameters<typeof createWhmcsHttpApi>[0]> = {}) =>
    createWhmcsHttpApi({
      url: panel.base,
      identifier: 'ID',
      secret: 'S&cret=1',
      retries: 2,
      retryBaseMs: 1,
      timeoutMs: 2000,
      ...opts,
    });

  beforeEach(async () => {
    panel = await fakePanel();
  });
  afterEach(async () => {
    await panel.close();
  });

  it('posts a form to <url>/includes/api.php with the credentials, responsetype=json and PHP-style arrays', async () => {
    panel.json({ result: 'success', invoiceid: '7' });
    await make().updateInvoice({
      invoiceId: 7,
      changeItems: [{ id: 13, description: 'Changed', amount: '16.95', taxed: false }],
      newItems: [{ description: 'New', amount: '2.95', taxed: true }],
      deleteLineIds: [11, 12],
    });
    const req = panel.seen[0]!;
    expect(req.url).to.equal('/billing/includes/api.php');
    expect([...req.body.entries()]).to.deep.equal([
      ['action', 'UpdateInvoice'],
      ['identifier', 'ID'],
      ['secret', 'S&cret=1'],
      ['responsetype', 'json'],
      ['invoiceid', '7'],
      ['itemdescription[13]', 'Changed'],
      ['itemamount[13]', '16.95'],
      ['itemtaxed[13]', '0'],
      ['newitemdescription[0]', 'New'],
      ['newitemamount[0]', '2.95'],
      ['newitemtaxed[0]', '1'],
      ['deletelineids[0]', '11'],
      ['deletelineids[1]', '12'],
    ]);
  });

  it('never lets a parameter replace the action or the credentials', async () => {
    panel.json({ result: 'success' });
    await make().call('LogActivity', {
      description: 'x',
      action: 'DeleteClient',
      secret: 'other',
      identifier: 'other',
      username: 'u',
      password: 'p',
    });
    const body = panel.seen[0]!.body;
    expect(body.getAll('action')).to.deep.equal(['LogActivity']);
    expect(body.getAll('secret')).to.deep.equal(['S&cret=1']);
    expect(body.has('username')).to.equal(false);
  });

  it('parses numbers sent as strings or as JSON numbers, exactly', async () => {
    panel.json(
      '{"result":"success","invoiceid":"12","invoicenum":"","userid":3,"date":"2016-01-01","duedate":"2016-01-08","datepaid":"0000-00-00 00:00:00","subtotal":15.95,"credit":"0.00","tax":"0.00","tax2":"0.00","total":"15.95","balance":"15.95","taxrate":"0.00","taxrate2":"0.00","status":"Unpaid","paymentmethod":"paypal","notes":"","ccgateway":"","items":{"item":[{"id":"1","type":"Hosting","relid":"1","description":"Sample","amount":"15.95","taxed":"0"}]},"transactions":""}',
    );
    const inv = await make().getInvoice(12);
    expect(inv).to.include({
      invoiceId: 12,
      userId: 3,
      datePaid: null,
      subtotal: '15.95',
      total: '15.95',
      status: 'Unpaid',
    });
    expect(inv.items).to.deep.equal([
      { id: 1, type: 'Hosting', relId: 1, description: 'Sample', amount: '15.95', taxed: false },
    ]);
    expect(inv.transactions).to.deep.equal([]);
    expect(parsePanelJson('{"a":12345678901234567890,"b":0.1,"c":7}')).to.deep.equal({
      a: '12345678901234567890',
      b: '0.1',
      c: 7,
    });
  });

  it('turns result=error into a typed error with WHMCS message, and tells auth failures apart', async () => {
    panel.json({ result: 'error', message: 'Invoice ID Not Found' });
    const e = await catchErr(make().getInvoice(1));
    expect(e).to.include({
      kind: 'api',
      message: 'Invoice ID Not Found',
      command: 'GetInvoice',
      upstream: 'panel',
      retryable: false,
    });
    panel.json({ result: 'error', message: 'Authentication Failed' }, 403);
    expect(await catchErr(make().getInvoice(1))).to.include({ kind: 'auth', status: 403 });
    panel.json({ result: 'error', message: 'Invalid IP 10.1.2.3' }, 403);
    expect(await catchErr(make().getInvoice(1))).to.include({ kind: 'auth', message: 'Invalid IP 10.1.2.3' });
  });

  it('accepts the documented "status" quirk instead of "result"', async () => {
    panel.json({ status: 'success', billableid: '3' });
    expect(await make().call('AddBillableItem', {})).to.deep.include({ billableid: '3' });
  });

  it('reports an answer that is not a WHMCS envelope as a bad response, without retrying', async () => {
    panel.answer((_req, res) => res.end('result=success;invoiceid=1'));
    expect(await catchErr(make().getInvoice(1))).to.include({ kind: 'bad_response' });
    panel.json({ hello: 'world' });
    expect(await catchErr(make().getInvoice(1))).to.include({ kind: 'bad_response' });
    expect(panel.seen).to.have.length(2);
  });

  it('retries a read after a transport failure, but never a write', async () => {
    let n = 0;
    panel.answer((_req, res) => {
      n++;
      // the first attempt dies with the connection
      if (n === 1) {
        res.socket?.destroy();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ result: 'success', setting: 'Language', value: 'english' }));
    });
    expect(await make().getConfigurationValue('Language')).to.equal('english');
    expect(n).to.equal(2);

    n = 0;
    panel.answer((_req, res) => {
      n++;
      res.socket?.destroy();
    });
    const e = await catchErr(make().addInvoicePayment({ invoiceId: 1, transId: 't', gateway: 'g' }));
    expect(e.kind).to.equal('transport');
    expect(e.retryable).to.equal(false);
    expect(e.message).to.match(/changes data, so it was not repeated/);
    expect(n).to.equal(1);
  });

  it('retries a read answered by a proxy error page, up to the limit', async () => {
    panel.answer((_req, res) => {
      res.writeHead(503, { 'content-type': 'text/html' });
      res.end('<html>Service Unavailable</html>');
    });
    const e = await catchErr(make({ retries: 2 }).getInvoices({}));
    expect(e).to.include({ kind: 'transport', status: 503 });
    expect(panel.seen).to.have.length(3);
  });

  it('gives up after the timeout', async () => {
    panel.answer(() => undefined);
    const e = await catchErr(make({ timeoutMs: 100, retries: 0 }).getInvoice(1));
    expect(e.kind).to.equal('timeout');
  });

  it('reports an unreachable panel as a transport error', async () => {
    await panel.close();
    const e = await catchErr(
      createWhmcsHttpApi({ url: panel.base, identifier: 'i', secret: 's', retries: 0 }).getInvoice(1),
    );
    expect(e.kind).to.equal('transport');
    panel = await fakePanel();
  });

  it('builds the endpoint from a base URL with or without a trailing slash', () => {
    expect(apiEndpoint('https://billing.example.net')).to.equal(
      'https://billing.example.net/includes/api.php',
    );
    expect(apiEndpoint('https://example.net/whmcs/')).to.equal('https://example.net/whmcs/includes/api.php');
  });
});
