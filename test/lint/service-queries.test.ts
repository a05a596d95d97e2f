import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const ESLINT_API = path.join(ROOT, 'tools', 'lint', 'node_modules', 'eslint', 'lib', 'api.js');

type Message = { ruleId: string | null; message: string };
type Linter = { lintText(code: string, opts: { filePath: string }): Promise<Array<{ messages: Message[] }>> };

/**
 * The lint rule that keeps query building out of module/services/ (issue 20,
 * tools/lint/eslint.config.mjs): it catches a query planted in a service and leaves alone the calls
 * that share a name with knex's (a hash's update, a Map's delete, a store's insert).
 */
describe('the rule against queries in services', function () {
  this.timeout(60_000);
  let eslint: Linter;

  before(async function () {
    // npm run lint installs the linter's toolchain in tools/lint on first use
    if (!fs.existsSync(ESLINT_API)) this.skip();
    const { ESLint } = (await import(pathToFileURL(ESLINT_API).href)) as {
      ESLint: new (o: { cwd: string; overrideConfigFile: string }) => Linter;
    };
    eslint = new ESLint({
      cwd: ROOT,
      overrideConfigFile: path.join(ROOT, 'tools', 'lint', 'eslint.config.mjs'),
    });
  });

  const lint = async (code: string, file = 'module/services/planted.ts') => {
    const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
    return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
  };

  it("catches a query planted in a service: deps.knex('x').where(…)", async () => {
    const found = await lint(
      "export const f = (deps: { knex: (t: string) => { where(w: object): unknown } }) => deps.knex('x').where({ id: 1 });\n",
    );
    expect(found).to.deep.equal([
      'no-restricted-syntax: services do not build queries: put this in a store in module/adapters/ (issue 20)',
      'no-restricted-syntax: services do not call a knex handle: put the query in a store in module/adapters/ (issue 20)',
    ]);
  });

  it("catches a transaction called with a table, the module's table names and the schema", async () => {
    const found = await lint(
      [
        "import { TABLES } from '../adapters/tables.js';",
        'export const f = (trx: (t: string) => unknown) => trx(TABLES.lines);',
        'export const g = (k: { schema: { hasTable(t: string): unknown } }) => k.schema.hasTable("x");',
        '',
      ].join('\n'),
    );
    expect(found).to.deep.equal([
      'no-restricted-syntax: services do not call a knex handle: put the query in a store in module/adapters/ (issue 20)',
      'no-restricted-syntax: table names live in the stores (module/adapters/), not in services (issue 20)',
      'no-restricted-syntax: services do not read the schema: put this in a store in module/adapters/ (issue 20)',
    ]);
  });

  it('refuses knex itself in a service, and lets a transaction handle through as a type', async () => {
    expect(await lint("import knex from 'knex';\nexport const k = knex;\n")).to.deep.equal([
      "no-restricted-imports: 'knex' import is restricted from being used. services call stores (module/adapters/), not knex; `import type { Knex }` for a transaction handle is fine",
    ]);
    expect(
      await lint("import type { Knex } from 'knex';\nexport type Tx = Knex.Transaction;\n"),
    ).to.deep.equal([]);
  });

  it("leaves alone a hash's update, a Map's delete, an array's join, Math.min and a store's insert", async () => {
    const code = [
      "import crypto from 'node:crypto';",
      "export const ref = (key: string) => crypto.createHash('sha256').update(key).digest('hex');",
      'export const drop = (m: Map<number, string>) => m.delete(1);',
      "export const words = (w: string[]) => w.join(', ');",
      'export const least = (a: number, b: number) => Math.min(a, b);',
      'export const add = (store: { insert(row: object): unknown }) => store.insert({ id: 1 });',
      'export const tagged = String.raw`a\\nb`;',
      '',
    ].join('\n');
    expect(await lint(code)).to.deep.equal([]);
  });

  it('lets the stores in module/adapters/ build queries', async () => {
    const code =
      "import { TABLES } from './tables.js';\nexport const f = (knex: (t: string) => { where(w: object): unknown }) => knex(TABLES.lines).where({ id: 1 });\n";
    expect(await lint(code, 'module/adapters/planted-store.ts')).to.deep.equal([]);
  });
});
