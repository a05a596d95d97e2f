import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { load } from 'js-yaml';
import request from 'supertest';
import { describeEachEngine } from '../support/engines.js';
import { documented } from '../support/openapi-schema.js';
import { spoilInstant } from '../support/spoil.js';
import { buildWebStory, type WebStory } from '../support/web-story.js';
import { WEB_ROUTES } from '../../module/web/api-router.js';

/** docs/openapi.yaml documents exactly the routes the router answers. */
describe('docs/openapi.yaml', () => {
  const doc = load(
    fs.readFileSync(path.resolve(import.meta.dirname, '..', '..', 'docs', 'openapi.yaml'), 'utf8'),
  ) as {
    openapi: string;
    paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    components: { schemas: Record<string, unknown> };
  };

  it('is OpenAPI 3 with money and bytes as strings', () => {
    expect(doc.openapi).to.match(/^3\./);
    expect(doc.components.schemas.Money).to.deep.nested.include({ 'properties.amount.type': 'string' });
    expect(doc.components.schemas.Day).to.deep.nested.include({ 'properties.bytes.type': 'string' });
  });

  it('documents every route, and no route that does not exist', () => {
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops)
        .filter((m) => ['get', 'post', 'put', 'delete', 'patch'].includes(m))
        .map((m) => `${m.toUpperCase()} ${p}`),
    );
    expect([...documented].sort()).to.deep.equal(WEB_ROUTES.map(([m, p]) => `${m} ${p}`).sort());
  });

  it('gives every protected API operation its 401 answer, and every $ref resolves', () => {
    const text = JSON.stringify(doc);
    for (const ref of text.match(/"#\/components\/[^"]+"/g) ?? []) {
      const parts = ref.slice(3, -1).split('/');
      let node: unknown = doc;
      for (const p of parts) node = (node as Record<string, unknown>)[p];
      expect(node, ref).to.not.equal(undefined);
    }
    for (const [p, ops] of Object.entries(doc.paths)) {
      if (!p.startsWith('/api/')) continue;
      for (const [m, op] of Object.entries(ops)) expect(op.responses, `${m} ${p}`).to.have.property('401');
    }
  });
});

type Schema = Record<string, unknown>;

/** Every object schema in the document (components and inline), with where it is. */
function objectSchemas(
  node: unknown,
  where: string,
  out: Array<[string, Record<string, unknown>]> = [],
): Array<[string, Record<string, unknown>]> {
  if (node === null || typeof node !== 'object') return out;
  const o = node as Schema;
  if (o.properties && typeof o.properties === 'object')
    out.push([where, o.properties as Record<string, unknown>]);
  for (const [k, v] of Object.entries(o)) objectSchemas(v, `${where}/${k}`, out);
  return out;
}

describe('docs/openapi.yaml: every JSON answer can be checked', () => {
  it('compiles the 200 answer of every GET path to a validator (a nullable Money once did not)', () => {
    const check = documented();
    const doc = load(
      fs.readFileSync(path.resolve(import.meta.dirname, '..', '..', 'docs', 'openapi.yaml'), 'utf8'),
    ) as {
      paths: Record<string, { get?: { responses: Record<string, { content?: Record<string, unknown> }> } }>;
    };
    const json = Object.keys(doc.paths).filter(
      (p) => doc.paths[p]!.get?.responses['200']?.content?.['application/json'],
    );
    const broken = json.flatMap((p) => {
      try {
        check(p, {});
        return [];
      } catch (err) {
        return [`${p}: ${(err as Error).message}`];
      }
    });
    expect(broken).to.deep.equal([]);
    expect(json.length).to.be.at.least(20);
  });
});

describe('docs/openapi.yaml: names beside ids', () => {
  const doc = load(
    fs.readFileSync(path.resolve(import.meta.dirname, '..', '..', 'docs', 'openapi.yaml'), 'utf8'),
  ) as Schema;

  it('documents clientName beside every clientId, serviceHostname and productName beside every serviceId, productName beside every productId', () => {
    const schemas = objectSchemas(doc, '#');
    const missing: string[] = [];
    for (const [where, props] of schemas) {
      const isId = (k: string) => (props[k] as Schema | undefined)?.type === 'integer';
      if (isId('clientId') && !props.clientName) missing.push(`${where}: clientName`);
      if (isId('serviceId') && !props.serviceHostname) missing.push(`${where}: serviceHostname`);
      if ((isId('serviceId') || isId('productId')) && !props.productName)
        missing.push(`${where}: productName`);
    }
    expect(missing).to.deep.equal([]);
    // a guard against the walk finding nothing
    expect(
      schemas.filter(([, p]) =>
        ['clientId', 'serviceId', 'productId'].some((k) => (p[k] as Schema | undefined)?.type === 'integer'),
      ).length,
    ).to.be.at.least(12);
  });
});

describeEachEngine('the JSON API answers with names beside ids, as documented', ({ db, engine }) => {
  const check = documented();

  let s: WebStory;
  beforeEach(async function () {
    this.timeout(30_000);
    s = await buildWebStory(db().knex);
  });

  it("names Ann Admin, vps1.example.net and VPS 5 TB beside their ids in the admin's and the client's answers", async () => {
    const admin = s.token('admin', s.adminId);
    const get = async (p: string, token = admin) => {
      const res = await request(s.app)
        .get(
          `/overusage${p.replace('{serviceId}', String(s.ann.serviceId)).replace('{lineId}', String(s.ann.lineId))}`,
        )
        .set('Authorization', `Bearer ${token}`)
        .expect(200);
      expect(check(p, res.body), p).to.equal(true);
      return res.body as Record<string, unknown>;
    };
    // the figures by hand: seedStory's Ann Admin (no company) has vps1.example.net on "VPS 5 TB"; Jan Peeters vps2.example.be
    const ann = {
      clientId: s.ann.clientId,
      clientName: 'Ann Admin',
      serviceId: s.ann.serviceId,
      serviceHostname: 'vps1.example.net',
      productName: 'VPS 5 TB',
    };
    const services = (await get('/api/v1/admin/services')).services as Array<Record<string, unknown>>;
    expect(services.map((x) => [x.serviceId, x.clientName, x.serviceHostname, x.productName])).to.deep.equal([
      [s.ann.serviceId, 'Ann Admin', 'vps1.example.net', 'VPS 5 TB'],
      [s.jan.serviceId, 'Jan Peeters', 'vps2.example.be', 'VPS 5 TB'],
    ]);
    expect((await get('/api/v1/admin/services/{serviceId}')).service).to.deep.include(ann);
    const lines = (await get('/api/v1/admin/lines')).lines as Array<Record<string, unknown>>;
    expect(lines.find((l) => l.id === s.ann.lineId)).to.deep.include(ann);
    expect((await get('/api/v1/admin/lines/{lineId}')).line).to.deep.include(ann);
    const products = (await get('/api/v1/admin/products')).products as Array<Record<string, unknown>>;
    expect(products.map((p) => [p.productId, p.productName])).to.deep.equal([
      [s.story.productId, 'VPS 5 TB'],
    ]);
    // the dashboard's recent lines (the list its figures come with)
    expect(
      ((await get('/api/v1/admin/dashboard')).recentLines as Array<Record<string, unknown>>)
        .map((l) => l.clientName)
        .sort(),
    ).to.deep.equal(['Ann Admin', 'Jan Peeters']);
    // a client sees their own names
    const mine = (await get('/api/v1/client/services', s.token('client', s.ann.clientId))).services as Array<
      Record<string, unknown>
    >;
    expect(mine.map((x) => [x.serviceId, x.clientName, x.serviceHostname, x.productName])).to.deep.equal([
      [s.ann.serviceId, 'Ann Admin', 'vps1.example.net', 'VPS 5 TB'],
    ]);
  });

  it("answers a service's periods as documented, billed as Money once a line bills them", async () => {
    for (const [p, token] of [
      ['/api/v1/admin/services/{serviceId}/periods', s.token('admin', s.adminId)],
      ['/api/v1/client/services/{serviceId}/periods', s.token('client', s.ann.clientId)],
    ] as const) {
      const res = await request(s.app)
        .get(`/overusage${p.replace('{serviceId}', String(s.ann.serviceId))}`)
        .set('Authorization', `Bearer ${token}`)
        .expect(200);
      expect(check(p, res.body), p).to.equal(true);
      // Ann's May: 6 000 GB used − 5 000 GB included = 1 000 GB × €0.50 = €500.00, on one invoice;
      // her open June has no charge yet
      const periods = res.body.periods as Array<{ start: string; charge: { billed: unknown } | null }>;
      expect(
        periods.map((x) => [x.start, x.charge?.billed ?? null]),
        p,
      ).to.deep.equal([
        ['2013-06-01', null],
        ['2013-05-01', { amount: '500.00', currency: 'EUR' }],
      ]);
      // a Money whose amount is a number is not the documented answer
      const wrong = structuredClone(res.body) as {
        periods: Array<{ charge: { billed: { amount: unknown } } | null }>;
      };
      wrong.periods[1]!.charge!.billed.amount = 500;
      expect(check(p, wrong), p).to.not.equal(true);
    }
  });

  it('answers a row an admin list cannot read as the documented UnreadableRow, the others as before', async () => {
    // Jan's line and service changed by hand: a status outside its set, an instant that is none
    const knex = db().knex;
    await knex('mod_overusage_lines').where({ id: s.jan.lineId }).update({ status: 'lost' });
    await spoilInstant(knex, engine, 'mod_overusage_services', 'last_sampled_at', {
      service_id: s.jan.serviceId,
    });
    const admin = s.token('admin', s.adminId);
    for (const [p, key] of [
      ['/api/v1/admin/lines', 'lines'],
      ['/api/v1/admin/services', 'services'],
      ['/api/v1/admin/dashboard', 'recentLines'],
    ] as const) {
      const res = await request(s.app)
        .get(`/overusage${p}`)
        .set('Authorization', `Bearer ${admin}`)
        .expect(200);
      expect(check(p, res.body), p).to.equal(true);
      const rows = res.body[key] as Array<Record<string, unknown>>;
      expect(
        rows.filter((r) => 'unreadable' in r).map((r) => r.id),
        p,
      ).to.deep.equal([key === 'services' ? s.jan.serviceId : s.jan.lineId]);
      // the unreadable one alone would not pass as a row of the list without the UnreadableRow schema
      const bad = rows.find((r) => 'unreadable' in r)!;
      expect(bad).to.have.all.keys('id', 'unreadable');
    }
  });

  it('answers null where the panel cannot name an id, and a refusal without names', async () => {
    // a service linked to a client the panel does not have
    await db().knex('tblhosting').where({ id: s.jan.serviceId }).update({ domain: '' });
    await db().knex('tblclients').where({ id: s.jan.clientId }).update({ firstname: '', lastname: '' });
    const admin = s.token('admin', s.adminId);
    const res = await request(s.app)
      .get('/overusage/api/v1/admin/services')
      .set('Authorization', `Bearer ${admin}`)
      .expect(200);
    const jan = (res.body.services as Array<Record<string, unknown>>).find(
      (x) => x.serviceId === s.jan.serviceId,
    )!;
    expect([jan.clientName, jan.serviceHostname, jan.productName]).to.deep.equal([null, null, 'VPS 5 TB']);
    const refused = await request(s.app)
      .get('/overusage/api/v1/admin/services/999999')
      .set('Authorization', `Bearer ${admin}`)
      .expect(404);
    expect(Object.keys(refused.body)).to.deep.equal(['error']);
  });
});
