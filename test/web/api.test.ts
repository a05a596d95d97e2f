import crypto from 'node:crypto';
import { expect } from 'chai';
import request from 'supertest';
import { toNum } from '../../module/adapters/rows.js';
import { WEB_ROUTES } from '../../module/web/api-router.js';
import { createTokenSigner } from '../../module/web/tokens.js';
import { describeEachEngine } from '../support/engines.js';
import { CLI_ACTOR, TEST_SECRET_KEY } from '../support/module-fixture.js';
import { buildWebStory, type WebStory } from '../support/web-story.js';

const BASE = '/overusage';
type Method = 'GET' | 'POST' | 'PUT';

/** Routes a test has answered with a success: checked against WEB_ROUTES at the end. */
const succeeded = new Set<string>();
const routeKey = (method: string, template: string) => `${method} ${template}`;

function caller(s: () => WebStory) {
  return async function call(
    method: Method,
    template: string,
    opts: {
      params?: Record<string, number | string>;
      token?: string | null;
      body?: unknown;
      query?: Record<string, string>;
      headers?: Record<string, string>;
    } = {},
  ) {
    if (!WEB_ROUTES.some(([m, p]) => m === method && p === template))
      throw new Error(`not a route: ${method} ${template}`);
    const path = template.replace(/\{(\w+)\}/g, (_m, k: string) => String(opts.params?.[k] ?? `{${k}}`));
    let req = request(s().app)[method.toLowerCase() as 'get' | 'post' | 'put'](BASE + path);
    if (opts.query) req = req.query(opts.query);
    if (opts.token) req = req.set('Authorization', `Bearer ${opts.token}`);
    for (const [k, v] of Object.entries(opts.headers ?? {})) req = req.set(k, v);
    const res = opts.body === undefined ? await req : await req.send(opts.body as object);
    if (res.status < 400) succeeded.add(routeKey(method, template));
    // never a stack trace, whatever the answer
    expect(res.text, `${method} ${path}`).not.to.match(/\n\s+at [^\n]+\(|node_modules|\.ts:\d+/);
    return res;
  };
}

const expectError = (res: request.Response, status: number, code?: string) => {
  expect(res.status, res.text).to.equal(status);
  expect(res.body).to.have.nested.property('error.code');
  expect(res.body.error.message).to.be.a('string');
  if (code) expect(res.body.error.code).to.equal(code);
};

describeEachEngine('the web JSON API', ({ db }) => {
  let s: WebStory;
  const call = caller(() => s);
  let annToken: string;
  let janToken: string;
  let adminToken: string;
  let mayPeriod: { ann: number; jan: number };
  let junePeriod: { ann: number; jan: number };

  before(async function () {
    this.timeout(30_000);
    s = await buildWebStory(db().knex);
    annToken = s.token('client', s.ann.clientId);
    janToken = s.token('client', s.jan.clientId);
    adminToken = s.token('admin', s.adminId);
    const period = async (serviceId: number, start: string) =>
      toNum(
        (
          await db()
            .knex('mod_overusage_periods')
            .where({ service_id: serviceId, start_date: start })
            .first('id')
        ).id,
      );
    mayPeriod = {
      ann: await period(s.ann.serviceId, '2013-05-01'),
      jan: await period(s.jan.serviceId, '2013-05-01'),
    };
    junePeriod = {
      ann: await period(s.ann.serviceId, '2013-06-01'),
      jan: await period(s.jan.serviceId, '2013-06-01'),
    };
  });

  describe('access', () => {
    it('answers 401 without a token, with a malformed, forged, foreign-key or expired one, and for ?token= on a POST', async () => {
      expectError(await call('GET', '/api/v1/me'), 401, 'UNAUTHORIZED');
      expectError(
        await call('GET', '/api/v1/me', { headers: { Authorization: 'Basic YWRtaW46YWRtaW4=' } }),
        401,
      );
      expectError(await call('GET', '/api/v1/me', { token: 'not-a-token' }), 401);
      const forged = annToken.slice(0, -2) + (annToken.endsWith('AA') ? 'BB' : 'AA');
      expectError(await call('GET', '/api/v1/me', { token: forged }), 401);
      // the same subject with a better id: the MAC no longer matches
      const [p, , id, ...rest] = annToken.split('.');
      expectError(await call('GET', '/api/v1/me', { token: [p, 'a', id, ...rest].join('.') }), 401);
      const foreign = createTokenSigner(crypto.randomBytes(32)).issue({ type: 'admin', id: 1 }).token;
      expectError(await call('GET', '/api/v1/admin/dashboard', { token: foreign }), 401);
      const expired = createTokenSigner(TEST_SECRET_KEY, () => Date.now() - 3_600_000).issue(
        { type: 'client', id: s.ann.clientId },
        { ttlSeconds: 60 },
      ).token;
      const res = await call('GET', '/api/v1/me', { token: expired });
      expectError(res, 401);
      expect(res.body.error.message).to.match(/expired/);
      const viaQuery = await request(s.app)
        .post(`${BASE}/api/v1/client/lines/${s.ann.lineId}/dispute?token=${annToken}`)
        .send({ reason: 'query tokens do not post' });
      expectError(viaQuery, 401);
      expect((await db().knex('mod_overusage_disputes').where({ line_id: s.ann.lineId })).length).to.equal(0);
    });

    it("lets a read-only token (a download link's) read, but not post, nor open a page that posts", async () => {
      const ro = s.mod.web.issueToken({ type: 'client', id: s.ann.clientId }, { readOnly: true }).token;
      expect(
        (
          await call('GET', '/api/v1/client/lines/{lineId}/days.csv', {
            params: { lineId: s.ann.lineId },
            token: ro,
          })
        ).status,
      ).to.equal(200);
      expectError(
        await call('POST', '/api/v1/client/lines/{lineId}/dispute', {
          params: { lineId: s.ann.lineId },
          token: ro,
          body: { reason: 'from a leaked link' },
        }),
        403,
        'NOT_ALLOWED',
      );
      expect((await request(s.app).get(`${BASE}/embed/client`).query({ token: ro })).status).to.equal(403);
      expect((await db().knex('mod_overusage_disputes').where({ line_id: s.ann.lineId })).length).to.equal(0);
    });

    it('says who a token names', async () => {
      const me = await call('GET', '/api/v1/me', { token: annToken });
      expect(me.status).to.equal(200);
      expect(me.body.subject).to.deep.equal({ type: 'client', id: s.ann.clientId });
      expect(Date.parse(me.body.expiresAt)).to.be.greaterThan(Date.now());
    });

    it('answers 403 to a client token on every admin route and to an admin token on every client route', async () => {
      const fill = {
        serviceId: s.ann.serviceId,
        periodId: mayPeriod.ann,
        lineId: s.ann.lineId,
        disputeId: 1,
        masterId: 1,
        productId: s.story.productId,
      };
      for (const [m, p] of WEB_ROUTES.filter(([, p]) => p.startsWith('/api/v1/admin/'))) {
        const res = await call(m as Method, p, {
          params: fill,
          token: annToken,
          body: m === 'GET' ? undefined : {},
        });
        expectError(res, 403, 'NOT_ALLOWED');
      }
      for (const [m, p] of WEB_ROUTES.filter(([, p]) => p.startsWith('/api/v1/client/'))) {
        const res = await call(m as Method, p, {
          params: fill,
          token: adminToken,
          body: m === 'GET' ? undefined : {},
        });
        expectError(res, 403, 'NOT_ALLOWED');
      }
    });

    it("lets a client reach none of another client's services, periods, lines, evidence or disputes: 404 everywhere, nothing changed", async () => {
      // Jan has a dispute of his own that Ann will try to read and withdraw
      const opened = await call('POST', '/api/v1/client/lines/{lineId}/dispute', {
        params: { lineId: s.jan.lineId },
        token: janToken,
        body: { reason: 'Ik herken dit verkeer niet.' },
      });
      expect(opened.status, opened.text).to.equal(201);
      const janDispute = opened.body.dispute.id as number;
      const before = await db().knex('mod_overusage_disputes').orderBy('id').select('id', 'state', 'version');
      const theirs = {
        serviceId: s.jan.serviceId,
        periodId: mayPeriod.jan,
        lineId: s.jan.lineId,
        disputeId: janDispute,
      };
      for (const [m, p] of WEB_ROUTES.filter(([, p]) => p.startsWith('/api/v1/client/') && /\{/.test(p))) {
        const res = await call(m as Method, p, {
          params: theirs,
          token: annToken,
          body: m === 'GET' ? undefined : { reason: 'not my line, but let us see' },
        });
        expectError(res, 404, 'NOT_FOUND');
        expect(res.text).not.to.include('Peeters');
      }
      // her own service with his period, and the query forms of his ids
      expectError(
        await call('GET', '/api/v1/client/services/{serviceId}/periods/{periodId}/days', {
          params: { serviceId: s.ann.serviceId, periodId: mayPeriod.jan },
          token: annToken,
        }),
        404,
      );
      const lines = await call('GET', '/api/v1/client/lines', {
        token: annToken,
        query: { service: String(s.jan.serviceId) },
      });
      expect(lines.status).to.equal(200);
      expect(lines.body.lines).to.deep.equal([]);
      const services = await call('GET', '/api/v1/client/services', { token: annToken });
      expect(services.body.services.map((x: { serviceId: number }) => x.serviceId)).to.deep.equal([
        s.ann.serviceId,
      ]);
      // the CSV links with his ids in the query string are refused the same way
      const csv = await request(s.app)
        .get(`${BASE}/api/v1/client/lines/${s.jan.lineId}/days.csv`)
        .query({ token: annToken });
      expectError(csv, 404);
      expect(
        await db().knex('mod_overusage_disputes').orderBy('id').select('id', 'state', 'version'),
      ).to.deep.equal(before);
      // and the embed page with his service
      const page = await request(s.app)
        .get(`${BASE}/embed/client`)
        .query({ service: s.jan.serviceId })
        .set('Authorization', `Bearer ${annToken}`);
      expect(page.status).to.equal(404);
      expect(page.text).not.to.include('vps2.example.be');
    });

    it('answers 404 with the error shape for unknown routes and ids that are not ids, and sets security headers', async () => {
      const res = await request(s.app)
        .get(`${BASE}/api/v1/client/nothing-here`)
        .set('Authorization', `Bearer ${annToken}`);
      expectError(res, 404, 'NOT_FOUND');
      expectError(
        await call('GET', '/api/v1/client/lines/{lineId}', { params: { lineId: 'abc' }, token: annToken }),
        404,
      );
      expectError(
        await call('GET', '/api/v1/admin/lines/{lineId}', { params: { lineId: 999999 }, token: adminToken }),
        404,
      );
      const me = await call('GET', '/api/v1/me', { token: adminToken });
      expect(me.headers['content-security-policy']).to.include("default-src 'self'");
      expect(me.headers['x-content-type-options']).to.equal('nosniff');
      expect(me.headers['cache-control']).to.equal('no-store');
      expect(me.headers['x-powered-by']).to.equal(undefined);
    });

    it('reads an unreadable body as 400, never a crash', async () => {
      const res = await request(s.app)
        .post(`${BASE}/api/v1/client/lines/${s.ann.lineId}/dispute`)
        .set('Authorization', `Bearer ${annToken}`)
        .set('Content-Type', 'application/json')
        .send('{"reason": ');
      expectError(res, 400, 'BAD_REQUEST');
    });
  });

  describe('client routes', () => {
    it("gives the service's open period with exact figures as strings, estimates marked and the projection", async () => {
      const res = await call('GET', '/api/v1/client/services/{serviceId}', {
        params: { serviceId: s.ann.serviceId },
        token: annToken,
      });
      expect(res.status).to.equal(200);
      const svc = res.body.service;
      expect(svc.period).to.include({ start: '2013-06-01', end: '2013-06-30', asOf: '2013-06-03' });
      expect(svc.period.usedBytes).to.equal('450000000000');
      expect(svc.usage.allowanceBytes).to.equal('5000000000000');
      expect(svc.usage.thresholds).to.deep.equal([80, 90, 100]);
      expect(svc.usage.projection.cost.atEnd).to.deep.equal({ amount: '0.00', currency: 'EUR' });
      // the 2nd failed: the 2nd and 3rd share the interval evenly, both marked as estimates
      expect(svc.days).to.deep.equal([
        { date: '2013-06-01', bytes: '150000000000', estimatedBytes: '0', missing: false, undecided: false },
        {
          date: '2013-06-02',
          bytes: '150000000000',
          estimatedBytes: '150000000000',
          missing: false,
          undecided: false,
        },
        {
          date: '2013-06-03',
          bytes: '150000000000',
          estimatedBytes: '150000000000',
          missing: false,
          undecided: false,
        },
      ]);
      // The projection, by hand: 1–3 June of 30 days. Ann 450 GB so far → 450 × 30 / 3 = 4 500 GB
      // at the end; Jan 270 GB → 2 700 GB. Both stay under the 5 000 GB allowance: nothing to pay,
      // so far or at the end.
      for (const [id, soFar, atEnd] of [
        [s.ann.serviceId, 450n, 4500n],
        [s.jan.serviceId, 270n, 2700n],
      ] as const) {
        const u = await s.mod.web.reads.serviceUsage(id);
        const a = u.assessment!;
        expect([u.open!.usedBytes, a.projection.projectedUsedBytes]).to.deep.equal([
          soFar * 10n ** 9n,
          atEnd * 10n ** 9n,
        ]);
        expect(a.cost).to.deep.equal({ soFarMinor: 0n, atEndMinor: 0n, currency: 'EUR' });
      }
      const list = await call('GET', '/api/v1/client/services', { token: annToken });
      expect(list.body.services[0]).to.include({
        serviceId: s.ann.serviceId,
        label: 'vps1.example.net (VPS 5 TB)',
      });
    });

    it("pages the past periods with their charges, and gives a period's days (the part before metering began as estimates) as JSON and CSV", async () => {
      const first = await call('GET', '/api/v1/client/services/{serviceId}/periods', {
        params: { serviceId: s.ann.serviceId },
        token: annToken,
        query: { limit: '1' },
      });
      expect(first.status).to.equal(200);
      expect(first.body.periods.map((p: { start: string }) => p.start)).to.deep.equal(['2013-06-01']);
      const second = await call('GET', '/api/v1/client/services/{serviceId}/periods', {
        params: { serviceId: s.ann.serviceId },
        token: annToken,
        query: { limit: '1', before: first.body.next },
      });
      expect(second.body.periods[0]).to.deep.include({ start: '2013-05-01', status: 'closed' });
      expect(second.body.periods[0].charge).to.deep.include({
        status: 'billed',
        overBytes: '1000000000000',
        amount: { amount: '500.00', currency: 'EUR' },
      });
      expectError(
        await call('GET', '/api/v1/client/services/{serviceId}/periods', {
          params: { serviceId: s.ann.serviceId },
          token: annToken,
          query: { before: 'yesterday' },
        }),
        422,
        'INVALID_INPUT',
      );
      expectError(
        await call('GET', '/api/v1/client/services/{serviceId}/periods', {
          params: { serviceId: s.ann.serviceId },
          token: annToken,
          query: { limit: '0' },
        }),
        422,
      );

      const days = await call('GET', '/api/v1/client/services/{serviceId}/periods/{periodId}/days', {
        params: { serviceId: s.ann.serviceId, periodId: mayPeriod.ann },
        token: annToken,
      });
      expect(days.status).to.equal(200);
      expect(days.body.days).to.have.length(31);
      // the counter read 5 800 GB at the first sample (29 May): spread over the 29 days it covers
      expect(days.body.days[0]).to.deep.equal({
        date: '2013-05-01',
        bytes: '200000000000',
        estimatedBytes: '200000000000',
        missing: false,
        undecided: false,
      });
      expect(days.body.days[30]).to.deep.include({
        date: '2013-05-31',
        bytes: '100000000000',
        missing: false,
        undecided: false,
      });
      const csv = await call('GET', '/api/v1/client/services/{serviceId}/periods/{periodId}/days.csv', {
        params: { serviceId: s.ann.serviceId, periodId: mayPeriod.ann },
        token: annToken,
      });
      expect(csv.status).to.equal(200);
      expect(csv.headers['content-type']).to.match(/^text\/csv/);
      expect(csv.headers['content-disposition']).to.match(
        /attachment; filename="overusage-\d+-2013-05-01-days.csv"/,
      );
      const rows = csv.text.trim().split('\r\n');
      expect(rows[0]).to.equal('date,bytes,estimated_bytes,measured,note');
      expect(rows[1]).to.equal(
        '2013-05-01,200000000000,200000000000,false,estimate: a longer interval spread evenly over its days',
      );
      expect(rows[31]).to.equal('2013-05-31,100000000000,0,true,');
    });

    it('lists the lines with status and deadline, and gives each line with its evidence as JSON and CSV', async () => {
      const lines = await call('GET', '/api/v1/client/lines', { token: annToken });
      expect(lines.status).to.equal(200);
      expect(lines.body.lines).to.have.length(1);
      const l = lines.body.lines[0];
      expect(l).to.deep.include({
        id: s.ann.lineId,
        invoiceId: s.ann.invoiceId,
        status: 'placed',
        state: 'placed',
        amount: { amount: '500.00', currency: 'EUR' },
        period: { start: '2013-05-01', end: '2013-05-31' },
      });
      expect(l.deadline).to.deep.include({ lastDay: '2013-06-16', open: true });
      expectError(
        await call('GET', '/api/v1/client/lines', { token: annToken, query: { before: '-1' } }),
        422,
      );
      const one = await call('GET', '/api/v1/client/lines/{lineId}', {
        params: { lineId: s.ann.lineId },
        token: annToken,
      });
      expect(one.body.line.ref).to.match(/^OU-[0-9A-F]{10}$/);
      const ev = await call('GET', '/api/v1/client/lines/{lineId}/evidence', {
        params: { lineId: s.ann.lineId },
        token: annToken,
      });
      expect(ev.status).to.equal(200);
      expect(ev.body.line.amountMinor).to.equal('50000');
      expect(ev.body.samples.length).to.be.greaterThan(0);
      const days = await call('GET', '/api/v1/client/lines/{lineId}/days.csv', {
        params: { lineId: s.ann.lineId },
        token: annToken,
      });
      expect(days.text.split('\r\n')[0]).to.equal('date,bytes,estimated_bytes,measured,note');
      const samples = await call('GET', '/api/v1/client/lines/{lineId}/samples.csv', {
        params: { lineId: s.ann.lineId },
        token: annToken,
      });
      expect(samples.text.split('\r\n')[0]).to.equal(
        'sample_id,closes_day,sampled_at_utc,counter_bytes,limit_bytes,state,raw',
      );
      // a download link carries the token in its query
      const link = await request(s.app)
        .get(`${BASE}/api/v1/client/lines/${s.ann.lineId}/days.csv`)
        .query({ token: annToken });
      expect(link.status).to.equal(200);
    });
  });

  describe('disputes through the API', () => {
    // the steps of one dispute, in order (the file's story is built once, in before)
    let opened: Awaited<ReturnType<typeof call>>;
    let janDispute: { id: number };

    it('refuses a dispute without a reason (422 INVALID_INPUT) or with a one-letter one (422 REASON_REQUIRED)', async () => {
      expectError(
        await call('POST', '/api/v1/client/lines/{lineId}/dispute', {
          params: { lineId: s.ann.lineId },
          token: annToken,
          body: {},
        }),
        422,
        'INVALID_INPUT',
      );
      expectError(
        await call('POST', '/api/v1/client/lines/{lineId}/dispute', {
          params: { lineId: s.ann.lineId },
          token: annToken,
          body: { reason: 'x' },
        }),
        422,
        'REASON_REQUIRED',
      );
    });

    it("opens one for Ann on the admins' route (201, the line held), and refuses Ann's second (409 ALREADY_DISPUTED)", async () => {
      // the admin opens it for Ann (the route for admins), then Ann reads and withdraws it
      opened = await call('POST', '/api/v1/admin/lines/{lineId}/dispute', {
        params: { lineId: s.ann.lineId },
        token: adminToken,
        body: { reason: 'client phoned: daily figures wanted' },
      });
      expect(opened.status, opened.text).to.equal(201);
      expect(opened.body.dispute).to.include({ state: 'open', holdState: 'held' });
      const again = await call('POST', '/api/v1/client/lines/{lineId}/dispute', {
        params: { lineId: s.ann.lineId },
        token: annToken,
        body: { reason: 'me too' },
      });
      expectError(again, 409, 'ALREADY_DISPUTED');
    });

    it('shows Ann her dispute without the override reason, and her line held', async () => {
      const mine = await call('GET', '/api/v1/client/disputes/{disputeId}', {
        params: { disputeId: opened.body.dispute.id },
        token: annToken,
      });
      expect(mine.status).to.equal(200);
      expect(mine.body.dispute).to.not.have.property('overrideReason');
      const line = await call('GET', '/api/v1/client/lines/{lineId}', {
        params: { lineId: s.ann.lineId },
        token: annToken,
      });
      expect(line.body.line.state).to.equal('held');
    });

    it('lets Ann withdraw it once (200 withdrawn, then 409 INVALID_TRANSITION)', async () => {
      const withdrawn = await call('POST', '/api/v1/client/disputes/{disputeId}/withdraw', {
        params: { disputeId: opened.body.dispute.id },
        token: annToken,
      });
      expect(withdrawn.status, withdrawn.text).to.equal(200);
      expect(withdrawn.body.dispute.state).to.equal('withdrawn');
      expectError(
        await call('POST', '/api/v1/client/disputes/{disputeId}/withdraw', {
          params: { disputeId: opened.body.dispute.id },
          token: annToken,
        }),
        409,
        'INVALID_TRANSITION',
      );
    });

    it("lists Jan's open dispute in the queue and the withdrawn one as resolved; refuses a bad list or cursor (422)", async () => {
      // Jan's dispute (opened above) waits in the queue; the admin previews and adjusts it
      const queue = await call('GET', '/api/v1/admin/disputes', { token: adminToken });
      expect(queue.status).to.equal(200);
      janDispute = queue.body.disputes.find((d: { clientId: number }) => d.clientId === s.jan.clientId);
      expect(janDispute).to.include({ state: 'open', lineId: s.jan.lineId });
      expectError(
        await call('GET', '/api/v1/admin/disputes', { token: adminToken, query: { list: 'nonsense' } }),
        422,
      );
      expectError(
        await call('GET', '/api/v1/admin/disputes', { token: adminToken, query: { after: 'garbage' } }),
        422,
      );
      const resolved = await call('GET', '/api/v1/admin/disputes', {
        token: adminToken,
        query: { list: 'resolved' },
      });
      expect(resolved.body.disputes.map((d: { state: string }) => d.state)).to.deep.equal(['withdrawn']);
    });

    it("previews Jan's 500 GB over at the agreed €0.35 (€175.00) and a 50 % share of €250.00 (€125.00); refuses 150 % and an unknown kind (422)", async () => {
      const detail = await call('GET', '/api/v1/admin/disputes/{disputeId}', {
        params: { disputeId: janDispute.id },
        token: adminToken,
      });
      expect(detail.body.line.id).to.equal(s.jan.lineId);
      const pre = await call('POST', '/api/v1/admin/disputes/{disputeId}/preview', {
        params: { disputeId: janDispute.id },
        token: adminToken,
        body: { adjustment: { kind: 'precommit' } },
      });
      expect(pre.status, pre.text).to.equal(200);
      expect(pre.body.preview).to.include({ amount: '175.00', currency: 'EUR' });
      const share = await call('POST', '/api/v1/admin/disputes/{disputeId}/preview', {
        params: { disputeId: janDispute.id },
        token: adminToken,
        body: { adjustment: { kind: 'share', percent: '50' } },
      });
      expect(share.body.preview.amount).to.equal('125.00');
      expectError(
        await call('POST', '/api/v1/admin/disputes/{disputeId}/preview', {
          params: { disputeId: janDispute.id },
          token: adminToken,
          body: { adjustment: { kind: 'share', percent: '150' } },
        }),
        422,
      );
      expectError(
        await call('POST', '/api/v1/admin/disputes/{disputeId}/preview', {
          params: { disputeId: janDispute.id },
          token: adminToken,
          body: { adjustment: { kind: 'magic' } },
        }),
        422,
      );
    });

    it('refuses an unknown decision (422) and a stale version (409 CONFLICT)', async () => {
      expectError(
        await call('POST', '/api/v1/admin/disputes/{disputeId}/resolve', {
          params: { disputeId: janDispute.id },
          token: adminToken,
          body: { to: 'deleted' },
        }),
        422,
      );
      expectError(
        await call('POST', '/api/v1/admin/disputes/{disputeId}/resolve', {
          params: { disputeId: janDispute.id },
          token: adminToken,
          body: { to: 'adjusted', adjustment: { kind: 'share', percent: '50' }, expectedVersion: 999 },
        }),
        409,
        'CONFLICT',
      );
    });

    it("adjusts Jan's line to €125.00 once, as his line then says", async () => {
      const done = await call('POST', '/api/v1/admin/disputes/{disputeId}/resolve', {
        params: { disputeId: janDispute.id },
        token: adminToken,
        body: { to: 'adjusted', adjustment: { kind: 'share', percent: '50' }, note: 'half, as agreed' },
      });
      expect(done.status, done.text).to.equal(200);
      expect(done.body.dispute).to.deep.include({
        state: 'adjusted',
        amountAfter: { amount: '125.00', currency: 'EUR' },
      });
      expectError(
        await call('POST', '/api/v1/admin/disputes/{disputeId}/resolve', {
          params: { disputeId: janDispute.id },
          token: adminToken,
          body: { to: 'waived' },
        }),
        409,
        'INVALID_TRANSITION',
      );
      const janLine = await call('GET', '/api/v1/client/lines/{lineId}', {
        params: { lineId: s.jan.lineId },
        token: janToken,
      });
      expect(janLine.body.line).to.deep.include({
        state: 'adjusted',
        amount: { amount: '125.00', currency: 'EUR' },
      });
    });

    it("refuses a dispute after the window with the deadline in the client's language (422 WINDOW_CLOSED)", async () => {
      const knex = db().knex;
      // a fresh line for each: put the lines back as undisputed, placed lines for this check
      await knex('mod_overusage_disputes').delete();
      await knex('mod_overusage_lines').update({ status: 'placed' });
      const saved = s.f.clock.now();
      s.f.clock.set('2013-06-17T10:00:00Z');
      try {
        const en = await call('POST', '/api/v1/client/lines/{lineId}/dispute', {
          params: { lineId: s.ann.lineId },
          token: annToken,
          body: { reason: 'I want the daily figures first.' },
        });
        expectError(en, 422, 'WINDOW_CLOSED');
        expect(en.body.error.message).to.equal(
          'The window to dispute this line ended on 16 June 2013; a dispute after it cannot be accepted.',
        );
        const nl = await call('POST', '/api/v1/client/lines/{lineId}/dispute', {
          params: { lineId: s.jan.lineId },
          token: janToken,
          body: { reason: 'Ik wil eerst de dagcijfers zien.' },
        });
        expectError(nl, 422, 'WINDOW_CLOSED');
        expect(nl.body.error.message).to.equal(
          'De termijn om bezwaar te maken tegen deze regel liep tot en met 16 juni 2013; een bezwaar daarna kunnen we niet aanvaarden.',
        );
        // an admin needs an override reason, and then may
        expectError(
          await call('POST', '/api/v1/admin/lines/{lineId}/dispute', {
            params: { lineId: s.ann.lineId },
            token: adminToken,
            body: { reason: 'goodwill' },
          }),
          422,
          'WINDOW_CLOSED',
        );
        const over = await call('POST', '/api/v1/admin/lines/{lineId}/dispute', {
          params: { lineId: s.ann.lineId },
          token: adminToken,
          body: { reason: 'goodwill review', overrideReason: 'long-standing client' },
        });
        expect(over.status, over.text).to.equal(201);
        expect(over.body.dispute.overrideReason).to.equal('long-standing client');
      } finally {
        s.f.clock.set(saved);
      }
    });
  });

  describe('admin routes', () => {
    it('shows the dashboard, pages the services, and switches metering of a service', async () => {
      const d = await call('GET', '/api/v1/admin/dashboard', { token: adminToken, query: { fresh: '1' } });
      expect(d.status).to.equal(200);
      expect(d.body).to.include({ meteredServices: 2 });
      expect(d.body.recentLines.map((l: { id: number }) => l.id)).to.include.members([
        s.ann.lineId,
        s.jan.lineId,
      ]);
      const p1 = await call('GET', '/api/v1/admin/services', { token: adminToken, query: { limit: '1' } });
      expect(p1.body.services).to.have.length(1);
      expect(p1.body.next).to.be.a('string');
      const p2 = await call('GET', '/api/v1/admin/services', {
        token: adminToken,
        query: { limit: '1', after: p1.body.next },
      });
      expect(p2.body.services[0].serviceId).to.be.greaterThan(p1.body.services[0].serviceId);
      expect(p2.body.next).to.equal(null);
      expect(p1.body.services[0].usage.percentUsed).to.match(/^\d+\.\d$/);
      expectError(
        await call('GET', '/api/v1/admin/services', { token: adminToken, query: { after: 'x' } }),
        422,
      );
      const one = await call('GET', '/api/v1/admin/services/{serviceId}', {
        params: { serviceId: s.jan.serviceId },
        token: adminToken,
      });
      expect(one.body.service.clientId).to.equal(s.jan.clientId);
      const off = await call('POST', '/api/v1/admin/services/{serviceId}/active', {
        params: { serviceId: s.jan.serviceId },
        token: adminToken,
        body: { active: false },
      });
      expect(off.body).to.deep.equal({
        serviceId: s.jan.serviceId,
        serviceHostname: 'vps2.example.be',
        productName: 'VPS 5 TB',
        active: false,
      });
      expectError(
        await call('POST', '/api/v1/admin/services/{serviceId}/active', {
          params: { serviceId: s.jan.serviceId },
          token: adminToken,
          body: { active: 'yes' },
        }),
        422,
      );
      await call('POST', '/api/v1/admin/services/{serviceId}/active', {
        params: { serviceId: s.jan.serviceId },
        token: adminToken,
        body: { active: true },
      });
    });

    it('lists samples newest first with the failed day as a gap, the periods, and a period as CSV', async () => {
      const res = await call('GET', '/api/v1/admin/services/{serviceId}/samples', {
        params: { serviceId: s.ann.serviceId },
        token: adminToken,
      });
      expect(res.status).to.equal(200);
      const rows = res.body.samples as Array<{
        kind: string;
        date: string;
        failures: unknown[];
        usedBytes: string | null;
      }>;
      expect(rows.slice(0, 3).map((r) => [r.kind, r.date])).to.deep.equal([
        ['sample', '2013-06-03'],
        ['gap', '2013-06-02'],
        ['sample', '2013-06-01'],
      ]);
      expect(rows[1]!.failures).to.have.length(1);
      expect(rows[0]!.usedBytes).to.equal('450000000000');
      const page = await call('GET', '/api/v1/admin/services/{serviceId}/samples', {
        params: { serviceId: s.ann.serviceId },
        token: adminToken,
        query: { limit: '2' },
      });
      const next = await call('GET', '/api/v1/admin/services/{serviceId}/samples', {
        params: { serviceId: s.ann.serviceId },
        token: adminToken,
        query: { limit: '2', before: page.body.next },
      });
      expect(next.body.samples[0].date < page.body.samples[page.body.samples.length - 1].date).to.equal(true);
      expectError(
        await call('GET', '/api/v1/admin/services/{serviceId}/samples', {
          params: { serviceId: 424242 },
          token: adminToken,
        }),
        404,
      );
      const periods = await call('GET', '/api/v1/admin/services/{serviceId}/periods', {
        params: { serviceId: s.ann.serviceId },
        token: adminToken,
      });
      expect(periods.body.periods.map((p: { start: string }) => p.start)).to.deep.equal([
        '2013-06-01',
        '2013-05-01',
      ]);
      const csv = await call('GET', '/api/v1/admin/services/{serviceId}/periods/{periodId}/days.csv', {
        params: { serviceId: s.ann.serviceId, periodId: junePeriod.ann },
        token: adminToken,
      });
      expect(csv.text.trim().split('\r\n').slice(1)).to.deep.equal([
        '2013-06-01,150000000000,0,true,',
        '2013-06-02,150000000000,150000000000,false,estimate: a longer interval spread evenly over its days',
        '2013-06-03,150000000000,150000000000,false,estimate: a longer interval spread evenly over its days',
      ]);
    });

    it('searches the lines by reference, id and status, exports them as CSV, and gives one line with its evidence', async () => {
      const ref = (await db().knex('mod_overusage_lines').where({ id: s.ann.lineId }).first('ref_code'))
        .ref_code as string;
      const byRef = await call('GET', '/api/v1/admin/lines', {
        token: adminToken,
        query: { q: ref.slice(0, 6).toLowerCase() },
      });
      expect(byRef.body.lines.map((l: { id: number }) => l.id)).to.include(s.ann.lineId);
      const byInvoice = await call('GET', '/api/v1/admin/lines', {
        token: adminToken,
        query: { q: String(s.jan.invoiceId) },
      });
      expect(byInvoice.body.lines.map((l: { id: number }) => l.id)).to.include(s.jan.lineId);
      const byText = await call('GET', '/api/v1/admin/lines', {
        token: adminToken,
        query: { q: 'inbegrepen' },
      });
      expect(byText.body.lines.map((l: { id: number }) => l.id)).to.deep.equal([s.jan.lineId]);
      const paged = await call('GET', '/api/v1/admin/lines', { token: adminToken, query: { limit: '1' } });
      const rest = await call('GET', '/api/v1/admin/lines', {
        token: adminToken,
        query: { limit: '1', before: paged.body.next },
      });
      expect(rest.body.lines[0].id).to.be.lessThan(paged.body.lines[0].id);
      expectError(
        await call('GET', '/api/v1/admin/lines', { token: adminToken, query: { status: 'lost' } }),
        422,
      );
      const csv = await call('GET', '/api/v1/admin/lines.csv', { token: adminToken });
      expect(csv.status).to.equal(200);
      const rows = csv.text.trim().split('\r\n');
      expect(rows[0]).to.equal(
        'line_id,ref,client_id,service_id,invoice_id,status,state,amount,currency,period_start,period_end,dispute_by,dispute_id,dispute_state,description',
      );
      expect(rows).to.have.length(3);
      const viaLink = await request(s.app)
        .get(`${BASE}/api/v1/admin/lines.csv`)
        .query({ token: adminToken, client: String(s.ann.clientId) });
      expect(viaLink.text.trim().split('\r\n')).to.have.length(2);
      const one = await call('GET', '/api/v1/admin/lines/{lineId}', {
        params: { lineId: s.jan.lineId },
        token: adminToken,
      });
      expect(one.body.line.clientId).to.equal(s.jan.clientId);
      expect(
        (
          await call('GET', '/api/v1/admin/lines/{lineId}/evidence', {
            params: { lineId: s.jan.lineId },
            token: adminToken,
          })
        ).body.line.id,
      ).to.equal(s.jan.lineId);
      expect(
        (
          await call('GET', '/api/v1/admin/lines/{lineId}/days.csv', {
            params: { lineId: s.jan.lineId },
            token: adminToken,
          })
        ).status,
      ).to.equal(200);
      expect(
        (
          await call('GET', '/api/v1/admin/lines/{lineId}/samples.csv', {
            params: { lineId: s.jan.lineId },
            token: adminToken,
          })
        ).status,
      ).to.equal(200);
    });

    it('lists and tests the masters (without credentials), reads and sets product and module settings, and reads the audit log', async () => {
      const masters = await call('GET', '/api/v1/admin/masters', { token: adminToken });
      expect(masters.body.masters[0]).to.include({ name: 'solus', version: 1 });
      expect(masters.text).not.to.match(/apiKey|credentials/);
      const test = await call('POST', '/api/v1/admin/masters/{masterId}/test', {
        params: { masterId: masters.body.masters[0].id },
        token: adminToken,
      });
      expect(test.body.report).to.include({ ok: true });
      expectError(
        await call('POST', '/api/v1/admin/masters/{masterId}/test', {
          params: { masterId: 999 },
          token: adminToken,
        }),
        404,
      );
      // a second master whose stored row was changed by hand: listed apart, the others as before
      const second = await s.mod.masters.add(
        {
          name: 'solus-2',
          version: 1,
          baseUrl: 'https://solus-2.example.net:5656',
          apiId: 'i',
          apiKey: 'k',
          timeZone: 'Europe/Brussels',
        },
        CLI_ACTOR,
      );
      await db().knex('mod_overusage_masters').where({ id: second.id }).update({ unit_labels: 'metric' });
      const listed = await call('GET', '/api/v1/admin/masters', { token: adminToken });
      expect(listed.status).to.equal(200);
      expect(listed.body.masters.map((m: { name: string }) => m.name)).to.deep.equal(['solus']);
      expect(listed.body.unreadable).to.deep.equal([
        {
          id: second.id,
          name: 'solus-2',
          active: true,
          column: 'mod_overusage_masters.unit_labels',
          problem: 'mod_overusage_masters.unit_labels holds "metric", which is not one of binary, decimal',
        },
      ]);
      const products = await call('GET', '/api/v1/admin/products', { token: adminToken });
      const settings = products.body.products[0].settings;
      expect(settings.prices.EUR.overage).to.equal('0.50');
      const changed = await call('PUT', '/api/v1/admin/products/{productId}', {
        params: { productId: s.story.productId },
        token: adminToken,
        body: { settings: { ...settings, window: { days: 30, counting: 'calendar', holidays: 'BE' } } },
      });
      expect(changed.status, changed.text).to.equal(200);
      expect(changed.body.settings.window.days).to.equal(30);
      expectError(
        await call('PUT', '/api/v1/admin/products/{productId}', {
          params: { productId: s.story.productId },
          token: adminToken,
          body: { settings: { ...settings, unit: 'furlongs' } },
        }),
        422,
        'INVALID_INPUT',
      );
      expectError(
        await call('PUT', '/api/v1/admin/products/{productId}', {
          params: { productId: s.story.productId },
          token: adminToken,
          body: { settings: 'x' },
        }),
        422,
      );
      const mod = await call('GET', '/api/v1/admin/settings', { token: adminToken });
      expect(mod.body.settings.sample_at).to.equal('23:50');
      expect(
        (await call('PUT', '/api/v1/admin/settings', { token: adminToken, body: { sample_at: '23:40' } }))
          .body.settings.sample_at,
      ).to.equal('23:40');
      expectError(
        await call('PUT', '/api/v1/admin/settings', { token: adminToken, body: { sample_at: '25:00' } }),
        422,
      );
      expectError(
        await call('PUT', '/api/v1/admin/settings', { token: adminToken, body: { nonsense: '1' } }),
        422,
      );
      const audit = await call('GET', '/api/v1/admin/audit', {
        token: adminToken,
        query: { entity_type: 'product' },
      });
      expect(audit.body.entries[0]).to.deep.include({
        action: 'billing.product_set',
        actorType: 'admin',
        actorId: String(s.adminId),
      });
      const page = await call('GET', '/api/v1/admin/audit', { token: adminToken, query: { limit: '2' } });
      const older = await call('GET', '/api/v1/admin/audit', {
        token: adminToken,
        query: { limit: '2', before: page.body.next },
      });
      expect(older.body.entries[0].id).to.be.lessThan(page.body.entries[1].id);
      expectError(
        await call('GET', '/api/v1/admin/audit', { token: adminToken, query: { before: 'x' } }),
        422,
      );
    });

    describe('counter anomalies and corrections, step by step', () => {
      let juneBefore: { used_bytes: unknown };
      let a: { id: number; period: unknown; text: string };
      const decide = (anomalyId: number, body: Record<string, string>) =>
        call('POST', '/api/v1/admin/anomalies/{anomalyId}/decide', {
          params: { anomalyId },
          token: adminToken,
          body,
        });

      it("lists an undecided drop on Jan's counter (270.00 GB → 40.00 GB, read 4 June) with its period and its text", async () => {
        // A drop on Jan's counter that nobody can read: an undecided interval of 0 bytes in June
        // (what metering writes for it), decided here as a correction, which books nothing.
        const knex = db().knex;
        juneBefore = await knex('mod_overusage_periods').where({ id: junePeriod.jan }).first();
        await knex('mod_overusage_samples').insert({
          service_id: s.jan.serviceId,
          master_id: 1,
          server_ref: '102',
          sample_date: '2013-06-04',
          sampled_at: '2013-06-04 21:50:00.000',
          used_bytes: '40000000000',
          state: 'online',
          raw: 'bandwidth=0,40000000000,0,0',
        });
        const sample = {
          id: toNum(
            (
              await knex('mod_overusage_samples')
                .where({ service_id: s.jan.serviceId, sample_date: '2013-06-04' })
                .first('id')
            ).id,
          ),
        };
        const [intervalId] = await knex('mod_overusage_intervals').insert({
          service_id: s.jan.serviceId,
          period_id: junePeriod.jan,
          from_sample_id: null,
          to_sample_id: sample.id,
          kind: 'drop',
          from_date: '2013-06-04',
          to_date: '2013-06-04',
          bytes: '0',
          estimated: false,
          candidate_bytes: String(40n * 10n ** 9n),
        });
        const interval =
          intervalId ??
          toNum(
            (
              await knex('mod_overusage_intervals')
                .where({ to_sample_id: sample.id, kind: 'drop' })
                .first('id')
            ).id,
          );
        await knex('mod_overusage_anomalies').insert({
          service_id: s.jan.serviceId,
          period_id: junePeriod.jan,
          kind: 'mid_period_drop',
          sample_id: sample.id,
          interval_id: interval,
          seen_on: '2013-06-04',
          details: JSON.stringify({
            fromBytes: '270000000000',
            toBytes: '40000000000',
            lastReadAt: '2013-06-03T21:50:00.000Z',
            readAt: '2013-06-04T21:50:00.000Z',
          }),
          status: 'open',
          created_at: '2013-06-04 21:50:00.000',
        });
        const list = await call('GET', '/api/v1/admin/anomalies', { token: adminToken });
        expect(list.status).to.equal(200);
        expect(list.body.anomalies).to.have.length(1);
        a = list.body.anomalies[0];
        expect(a).to.deep.include({
          serviceId: s.jan.serviceId,
          kind: 'mid_period_drop',
          status: 'open',
          seenOn: '2013-06-04',
          decision: null,
        });
        expect(a.period).to.deep.equal({ id: junePeriod.jan, start: '2013-06-01', end: '2013-06-30' });
        expect(a.text).to.equal(
          'counter dropped from 270.00 GB to 40.00 GB (read 2013-06-04): a manual reset or a correction, not booked until decided',
        );
      });

      it('refuses a bad status filter, an unknown decision or an empty reason (422) and an unknown anomaly (404)', async () => {
        expectError(
          await call('GET', '/api/v1/admin/anomalies', { token: adminToken, query: { status: 'maybe' } }),
          422,
          'INVALID_INPUT',
        );
        expectError(await decide(a.id, { decision: 'perhaps', reason: 'x' }), 422, 'INVALID_INPUT');
        expectError(await decide(a.id, { decision: 'correction', reason: '' }), 422, 'INVALID_INPUT');
        expectError(await decide(999999, { decision: 'correction', reason: 'checked' }), 404, 'NOT_FOUND');
      });

      it('takes a correction once, booking nothing: a second decision is refused (409 CONFLICT), the open list is empty', async () => {
        const knex = db().knex;
        const decided = await decide(a.id, {
          decision: 'correction',
          reason: 'the provider corrected a double count',
        });
        expect(decided.status, decided.text).to.equal(200);
        expect(decided.body).to.deep.include({ bookedBytes: '0', rerate: null });
        expect(decided.body.anomaly).to.deep.include({
          status: 'decided',
          decision: 'correction',
          decisionReason: 'the provider corrected a double count',
          decidedBy: { type: 'admin', id: String(s.adminId) },
        });
        expectError(await decide(a.id, { decision: 'reset', reason: 'second thoughts' }), 409, 'CONFLICT');
        expect(
          toNum((await knex('mod_overusage_periods').where({ id: junePeriod.jan }).first()).used_bytes),
        ).to.equal(toNum(juneBefore.used_bytes));
        expect(
          (await call('GET', '/api/v1/admin/anomalies', { token: adminToken })).body.anomalies,
        ).to.deep.equal([]);
      });

      it("shows the admin Jan's periods: June open with the decided anomaly, May invoiced with its €250.00 line", async () => {
        const periods = await call('GET', '/api/v1/admin/services/{serviceId}/usage-periods', {
          params: { serviceId: s.jan.serviceId },
          token: adminToken,
        });
        expect(periods.status).to.equal(200);
        // May (5.5 TB on 5 TB: 500 GB over at €0.50 = €250.00) is on the June invoice; June is open
        expect(
          periods.body.periods.map((p: { start: string; end: string; state: string }) => [
            p.start,
            p.end,
            p.state,
          ]),
        ).to.deep.equal([
          ['2013-06-01', '2013-06-30', 'open'],
          ['2013-05-01', '2013-05-31', 'invoiced'],
        ]);
        // (its line is held on a draft of its own since Jan disputed it above: the line carries that invoice now)
        expect(periods.body.periods[1].charges[0]).to.deep.include({
          seq: 0,
          kind: 'usage',
          status: 'billed',
          overBytes: '500000000000',
          amount: { amount: '250.00', currency: 'EUR' },
          lineId: s.jan.lineId,
        });
        expect(periods.body.periods[0].anomalies.map((x: { status: string }) => x.status)).to.deep.equal([
          'decided',
        ]);
      });

      it("shows Jan the anomaly and its decision on his own period, without the admin's reason", async () => {
        const mine = await call('GET', '/api/v1/client/services/{serviceId}/usage-periods', {
          params: { serviceId: s.jan.serviceId },
          token: janToken,
        });
        expect(mine.status).to.equal(200);
        expect(mine.body.periods[0].anomalies).to.deep.equal([
          {
            kind: 'mid_period_drop',
            status: 'decided',
            seenOn: '2013-06-04',
            details: {
              fromBytes: '270000000000',
              toBytes: '40000000000',
              lastReadAt: '2013-06-03T21:50:00.000Z',
              readAt: '2013-06-04T21:50:00.000Z',
            },
            decision: 'correction',
          },
        ]);
      });

      it('lists a correction waiting for review (−€15.00), refuses an unknown action (422), drops it once (then 409)', async () => {
        const knex = db().knex;
        // a correction waiting for review (a line of its period is disputed): the admin drops it
        await knex('mod_overusage_charges').insert({
          period_id: mayPeriod.jan,
          seq: 1,
          kind: 'correction',
          service_id: s.jan.serviceId,
          client_id: s.jan.clientId,
          product_id: s.story.productId,
          period_start: '2013-05-01',
          period_end: '2013-05-31',
          currency: 'EUR',
          used_bytes: '5500000000000',
          allowance_bytes: '5000000000000',
          over_bytes: '500000000000',
          amount_minor: '-1500',
          rounded_minor: '-1500',
          status: 'review',
          explanation: '{}',
          taxed: false,
          rated_at: '2013-06-05 10:00:00.000',
        });
        const review = await call('GET', '/api/v1/admin/corrections', { token: adminToken });
        expect(
          review.body.corrections.map((c: { amount: unknown; status: string }) => [c.amount, c.status]),
        ).to.deep.equal([[{ amount: '-15.00', currency: 'EUR' }, 'review']]);
        expectError(
          await call('POST', '/api/v1/admin/corrections/{chargeId}/settle', {
            params: { chargeId: review.body.corrections[0].id },
            token: adminToken,
            body: { action: 'later', reason: 'x' },
          }),
          422,
        );
        const dropped = await call('POST', '/api/v1/admin/corrections/{chargeId}/settle', {
          params: { chargeId: review.body.corrections[0].id },
          token: adminToken,
          body: { action: 'drop', reason: 'settled with the dispute' },
        });
        expect(dropped.status, dropped.text).to.equal(200);
        expect(dropped.body.correction).to.deep.include({ status: 'void', kind: 'correction' });
        expectError(
          await call('POST', '/api/v1/admin/corrections/{chargeId}/settle', {
            params: { chargeId: review.body.corrections[0].id },
            token: adminToken,
            body: { action: 'bill', reason: 'again' },
          }),
          409,
          'CONFLICT',
        );
      });

      it("audits the decision and the drop as the admin's", async () => {
        const knex = db().knex;
        const audit = await knex('mod_overusage_audit')
          .whereIn('action', ['anomaly.decided', 'correction.dropped'])
          .orderBy('id');
        expect(audit.map((x) => [x.action, x.actor_type, x.actor_id])).to.deep.equal([
          ['anomaly.decided', 'admin', String(s.adminId)],
          ['correction.dropped', 'admin', String(s.adminId)],
        ]);
      });
    });

    it('lists the services of billed products the last sync could not link, with why', async () => {
      // Ann's and Jan's services are on no server entry in the story: the sync says so for each
      await s.mod.sync!.sync();
      const res = await call('GET', '/api/v1/admin/sync-issues', { token: adminToken });
      expect(res.status).to.equal(200);
      expect(
        res.body.notLinked.map((x: { serviceId: number; reason: string }) => [x.serviceId, x.reason]),
      ).to.deep.equal([
        [s.ann.serviceId, 'it is on no server in the panel (no server entry is set on the service)'],
        [s.jan.serviceId, 'it is on no server in the panel (no server entry is set on the service)'],
      ]);
      await db().knex('mod_overusage_sync_issues').delete();
    });

    it('issues tokens for a client, which then reach only that client', async () => {
      const made = await call('POST', '/api/v1/admin/tokens', {
        token: adminToken,
        body: { type: 'client', id: s.jan.clientId, ttlSeconds: 300 },
      });
      expect(made.status).to.equal(201);
      const me = await call('GET', '/api/v1/me', { token: made.body.token });
      expect(me.body.subject).to.deep.equal({ type: 'client', id: s.jan.clientId });
      expectError(
        await call('POST', '/api/v1/admin/tokens', { token: adminToken, body: { type: 'root', id: 1 } }),
        422,
      );
      expectError(
        await call('POST', '/api/v1/admin/tokens', {
          token: adminToken,
          body: { type: 'client', id: 1, ttlSeconds: 10 ** 7 },
        }),
        422,
      );
    });

    it('logs a token out: it is refused from then on', async () => {
      const t = s.token('client', s.ann.clientId);
      expect((await call('POST', '/api/v1/logout', { token: t })).status).to.equal(204);
      const res = await call('GET', '/api/v1/me', { token: t });
      expectError(res, 401, 'UNAUTHORIZED');
      expect(res.body.error.message).to.equal('the access token was revoked (logout)');
      expect((await call('GET', '/api/v1/me', { token: annToken })).status).to.equal(200);
    });
  });

  describe('spending caps', () => {
    it("reads, sets and lifts a client's own cap; refuses what the plan does not offer", async () => {
      const knex = db().knex;
      const params = { serviceId: s.ann.serviceId };
      // the plan offers no caps yet: the cap reads as none, and setting one is a conflict
      const none = await call('GET', '/api/v1/client/services/{serviceId}/cap', { params, token: annToken });
      expect(none.status).to.equal(200);
      expect(none.body).to.deep.equal({
        serviceId: s.ann.serviceId,
        serviceHostname: 'vps1.example.net',
        productName: 'VPS 5 TB',
        cap: null,
        reached: null,
        options: null,
      });
      expectError(
        await call('PUT', '/api/v1/client/services/{serviceId}/cap', {
          params,
          token: annToken,
          body: { kind: 'money', amount: '40.00', action: 'suspend' },
        }),
        409,
        'CONFLICT',
      );
      const product = (await s.mod.billing.getProduct(s.story.productId))!;
      await s.mod.billing.setProduct(
        s.story.productId,
        { ...product, clientCaps: { actions: ['suspend'] } },
        { type: 'cli', id: null },
      );
      try {
        // throttle is not among what this plan allows; money must be whole cents
        expectError(
          await call('PUT', '/api/v1/client/services/{serviceId}/cap', {
            params,
            token: annToken,
            body: { kind: 'money', amount: '40.00', action: 'throttle' },
          }),
          422,
          'INVALID_INPUT',
        );
        expectError(
          await call('PUT', '/api/v1/client/services/{serviceId}/cap', {
            params,
            token: annToken,
            body: { kind: 'money', amount: '0', action: 'suspend' },
          }),
          422,
          'INVALID_INPUT',
        );
        const set = await call('PUT', '/api/v1/client/services/{serviceId}/cap', {
          params,
          token: annToken,
          body: { kind: 'bytes', amount: '1.5 TB', action: 'suspend' },
        });
        expect(set.status, set.text).to.equal(200);
        expect(set.body.cap).to.deep.include({
          kind: 'bytes',
          amount: '1500000000000',
          currency: null,
          action: 'suspend',
        });
        expect(set.body.options).to.deep.equal({ actions: ['suspend'], currency: 'EUR' });
        // Jan cannot read it
        expectError(
          await call('GET', '/api/v1/client/services/{serviceId}/cap', { params, token: janToken }),
          404,
          'NOT_FOUND',
        );
        // the admin sees the caps clients chose, and (none here) pools and upgrade outcomes
        const caps = await call('GET', '/api/v1/admin/caps', { token: adminToken });
        expect(caps.status).to.equal(200);
        expect(
          caps.body.caps.map((c: Record<string, unknown>) => [
            c.serviceId,
            c.clientId,
            c.kind,
            c.amount,
            c.action,
            c.status,
            c.reached,
          ]),
        ).to.deep.equal([
          [s.ann.serviceId, s.ann.clientId, 'bytes', '1500000000000', 'suspend', 'active', null],
        ]);
        const pools = await call('GET', '/api/v1/admin/pools', {
          token: adminToken,
          query: { client: String(s.ann.clientId) },
        });
        expect(pools.body).to.deep.equal({ clientId: s.ann.clientId, clientName: 'Ann Admin', pools: [] });
        expectError(await call('GET', '/api/v1/admin/pools', { token: adminToken }), 422, 'INVALID_INPUT');
        const upgrades = await call('GET', '/api/v1/admin/upgrades', { token: adminToken });
        expect(upgrades.status).to.equal(200);
        expect(upgrades.body.upgrades).to.be.an('array');
        const lifted = await call('POST', '/api/v1/client/services/{serviceId}/cap/lift', {
          params,
          token: annToken,
        });
        expect(lifted.status).to.equal(200);
        expect(lifted.body.cap).to.equal(null);
        expect(
          (await knex('mod_overusage_caps').where({ service_id: s.ann.serviceId })).map((c) => c.status),
        ).to.deep.equal(['lifted']);
      } finally {
        await s.mod.billing.setProduct(s.story.productId, product, { type: 'cli', id: null });
      }
    });
  });

  describe('embed pages and assets', () => {
    it('moves a token from the URL into an httpOnly cookie, shows the widget, and takes a form only with its CSRF field', async () => {
      const open = await call('GET', '/embed/client', {
        query: { token: janToken, service: String(s.jan.serviceId) },
      });
      expect(open.status).to.equal(303);
      expect(open.headers.location).to.equal(`${BASE}/embed/client?service=${s.jan.serviceId}`);
      const cookie = open.headers['set-cookie']![0]!;
      expect(cookie).to.match(/^ou_embed_c=ou2\.c\./);
      expect(cookie).to.match(/HttpOnly/i);
      expect(cookie).to.match(/SameSite=Lax/i);
      const agent = request.agent(s.app);
      await agent.get(`${BASE}/embed/client`).query({ token: janToken }).expect(303);
      const page = await agent.get(`${BASE}/embed/client`).expect(200);
      expect(page.text).to.include('lang="nl"');
      expect(page.text).to.include('<svg');
      expect(page.headers['content-security-policy']).to.include("script-src 'self'");
      const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)?.[1];
      expect(csrf).to.be.a('string');
      const noCsrf = await agent
        .post(`${BASE}/embed/client`)
        .type('form')
        .send({ do: 'withdraw', dispute: '1' });
      expect(noCsrf.status).to.equal(403);
      const posted = await agent
        .post(`${BASE}/embed/client`)
        .type('form')
        .send({ csrf, do: 'withdraw', dispute: '999' });
      expect(posted.status).to.equal(200);
      expect(posted.text).to.include('Die regel of dat bezwaar bestaat niet.');
      succeeded.add(routeKey('POST', '/embed/client'));
      expect((await call('GET', '/embed/client')).status).to.equal(401);
    });

    it('serves the admin tab as a page of its own, with its CSRF field on every form', async () => {
      const agent = request.agent(s.app);
      await agent.get(`${BASE}/embed/admin`).query({ token: adminToken, a: 'disputes' }).expect(303);
      const page = await agent.get(`${BASE}/embed/admin?a=settings`).expect(200);
      succeeded.add(routeKey('GET', '/embed/admin'));
      const forms = page.text.match(/<form method="post"[^>]*>/g) ?? [];
      expect(forms.length).to.be.greaterThan(2);
      expect((page.text.match(/name="csrf"/g) ?? []).length).to.equal(forms.length);
      const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)![1]!;
      expect(
        (
          await agent
            .post(`${BASE}/embed/admin?a=settings`)
            .type('form')
            .send({ do: 'save_settings', sample_at: '23:45' })
        ).status,
      ).to.equal(403);
      const saved = await agent
        .post(`${BASE}/embed/admin?a=settings`)
        .type('form')
        .send({ csrf, do: 'save_settings', sample_at: '23:45' });
      expect(saved.status).to.equal(200);
      expect(saved.text).to.include('Settings saved.');
      succeeded.add(routeKey('POST', '/embed/admin'));
      // a client's token does not open it
      expect(
        (await request(s.app).get(`${BASE}/embed/admin`).set('Authorization', `Bearer ${annToken}`)).status,
      ).to.equal(403);
    });

    it('serves the stylesheet and the script from its own origin', async () => {
      const css = await call('GET', '/assets/overusage.css');
      expect(css.headers['content-type']).to.match(/text\/css/);
      const pageCss = await call('GET', '/assets/overusage-page.css');
      expect(pageCss.text).to.include('.ou-card {');
      const js = await call('GET', '/assets/overusage.js');
      expect(js.headers['content-type']).to.match(/javascript/);
      expect((await request(s.app).get(`${BASE}/assets/other.js`)).status).to.equal(404);
    });
  });

  after(function () {
    // every route was answered with a success by some test (per engine run, the first fills it);
    // not checked when only some of the tests ran (mocha --grep)
    const tests: Mocha.Test[] = [];
    const walk = (suite: Mocha.Suite) => {
      tests.push(...suite.tests);
      suite.suites.forEach(walk);
    };
    walk(this.test!.parent!);
    if (tests.some((t) => t.state === undefined)) return;
    const missing = WEB_ROUTES.filter(([m, p]) => !succeeded.has(routeKey(m, p))).map(
      ([m, p]) => `${m} ${p}`,
    );
    if (s) expect(missing, 'routes no test reached with a success').to.deep.equal([]);
  });
});

describeEachEngine('dispute posting is rate-limited per person', ({ db }) => {
  it('answers 429 once a client has posted the limit, on the API and on the page alike', async function () {
    this.timeout(30_000);
    const s = await buildWebStory(db().knex, { web: { disputeRateLimit: { windowMs: 60_000, limit: 2 } } });
    const token = s.token('client', s.ann.clientId);
    const post = () =>
      request(s.app)
        .post(`${BASE}/api/v1/client/lines/${s.ann.lineId}/dispute`)
        .set('Authorization', `Bearer ${token}`)
        .send({ reason: 'x' });
    expect((await post()).status).to.equal(422);
    expect((await post()).status).to.equal(422);
    const third = await post();
    expect(third.status).to.equal(429);
    expect(third.body.error.code).to.equal('RATE_LIMITED');
    // another client is not held back by Ann's posts
    const jan = await request(s.app)
      .post(`${BASE}/api/v1/client/lines/${s.jan.lineId}/dispute`)
      .set('Authorization', `Bearer ${s.token('client', s.jan.clientId)}`)
      .send({ reason: 'x' });
    expect(jan.status).to.equal(422);
    // the page counts with the same counter
    const flash = await s.mod.web.widget.post(
      s.ann.clientId,
      { do: 'dispute', line: String(s.ann.lineId), reason: 'really, this is wrong' },
      'en-GB',
    );
    expect(flash).to.deep.equal({
      kind: 'error',
      text: 'Too many disputes were sent from your account; please try again later.',
    });
  });
});
