import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { load } from 'js-yaml';
import { WEB_ROUTES } from '../../module/web/api-router.js';

/** docs/openapi.yaml documents exactly the routes the router answers. */
describe('docs/openapi.yaml', () => {
  const doc = load(fs.readFileSync(path.resolve(import.meta.dirname, '..', '..', 'docs', 'openapi.yaml'), 'utf8')) as {
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
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).filter((m) => ['get', 'post', 'put', 'delete', 'patch'].includes(m)).map((m) => `${m.toUpperCase()} ${p}`));
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
