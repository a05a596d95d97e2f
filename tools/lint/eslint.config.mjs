// The project's lint rules. Run with `npm run lint` (from the repository's root); the linter's
// toolchain lives in tools/lint with TypeScript 6, see its package.json.
import tseslint from 'typescript-eslint';

const IO = ['knex', 'express', 'mysql2', 'mysql2/*', 'better-sqlite3', 'node:fs', 'node:fs/*', 'node:http', 'node:https', 'node:net', 'node:tls', 'node:child_process', 'node:worker_threads', 'undici'];

/** `no-restricted-imports` patterns: each layer names what it may not reach. */
const layer = (groups, message) => ({ group: groups, message });

const NO_PANEL = layer(['**/panel/**', '!**/adapters/panel-*'], 'the add-on does not import the reference panel: use the panel adapter (module/adapters/panel-api.ts)');

/**
 * Query building in a service (issue 20): a knex handle called with a table (`knex(TABLES.x)`,
 * `trx('…')`), its schema, the module's table names, or a builder method only knex has. Names
 * other objects share (update, delete, join, select, first, limit, min, max, count) are left out,
 * so crypto's hash.update, a Map's delete or an array's join pass; a query always has a `where`,
 * an `insert`, an `orderBy`, a table call or one of the others below.
 */
const KNEX_METHODS = ['where', 'andWhere', 'orWhere', 'whereIn', 'whereNotIn', 'whereNot', 'whereNull', 'whereNotNull', 'orWhereNull', 'orWhereNotNull', 'whereBetween', 'whereExists', 'whereNotExists', 'whereRaw', 'andWhereRaw', 'orWhereRaw', 'whereLike', 'insert', 'upsert', 'onConflict', 'merge', 'ignore', 'orderBy', 'groupBy', 'having', 'leftJoin', 'innerJoin', 'rightJoin', 'increment', 'decrement', 'pluck', 'truncate', 'del', 'returning', 'forUpdate', 'forShare', 'raw', 'distinct', 'offset', 'countDistinct'];
const QUERY_BUILDING = [
  { selector: `CallExpression[callee.type='MemberExpression'][callee.object.type='CallExpression'][callee.property.name=/^(${KNEX_METHODS.join('|')})$/]`, message: 'services do not build queries: put this in a store in module/adapters/ (issue 20)' },
  { selector: "CallExpression[callee.name=/^(knex|trx|db|tx)$/], CallExpression[callee.property.name=/^(knex|trx)$/]", message: 'services do not call a knex handle: put the query in a store in module/adapters/ (issue 20)' },
  { selector: "MemberExpression[property.name='schema']", message: 'services do not read the schema: put this in a store in module/adapters/ (issue 20)' },
  { selector: "MemberExpression[object.name='TABLES']", message: 'table names live in the stores (module/adapters/), not in services (issue 20)' },
];

/**
 * Services that still build queries when the rule came in: each is moved into a store by its own
 * work and then taken off this list, so the list only shrinks. Empty: every service goes through
 * stores.
 */
const SERVICES_WITH_QUERIES = [];

export default tseslint.config(
  { ignores: ['**/node_modules/**', 'test-output/**', 'modules/**', 'tools/lint/**', 'coverage/**', '.stryker-tmp/**', 'reports/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { ecmaVersion: 'latest', sourceType: 'module' } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-var': 'error',
      'prefer-const': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-debugger': 'error',
    },
  },
  {
    // The pure domain: no IO, and nothing from the layers above it.
    files: ['module/domain/**/*.ts', 'panel/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: IO.filter((p) => !p.includes('*')), patterns: [
        layer(IO.filter((p) => p.includes('*')), 'the domain does no IO: move this to an adapter'),
        layer(['**/adapters/**', '**/services/**', '**/web/**', '**/api/**', '**/db/**', '**/core/**'], 'the domain imports only the domain: pass what it needs in as values'),
      ] }],
    },
  },
  {
    // The add-on never reaches into the reference panel: it talks to any panel through its adapter.
    files: ['module/**/*.ts', 'hooks/**/*.ts', 'migrations/**/*.ts'],
    ignores: ['module/domain/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [NO_PANEL] }],
    },
  },
  {
    // Services call stores, not knex (issue 20): a transaction handle may pass through (type imports only).
    files: ['module/services/**/*.ts'],
    ignores: SERVICES_WITH_QUERIES,
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'knex', allowTypeImports: true, message: 'services call stores (module/adapters/), not knex; `import type { Knex }` for a transaction handle is fine' }], patterns: [NO_PANEL] }],
      'no-restricted-syntax': ['error', ...QUERY_BUILDING],
    },
  },
  {
    // Short functions in the add-on (issue 20): a function that grows past 80 lines does several jobs.
    files: ['module/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true, IIFEs: true }] },
  },
);
