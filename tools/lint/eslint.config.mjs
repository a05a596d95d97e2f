// The project's lint rules. Run with `npm run lint` (from the repository's root); the linter's
// toolchain lives in tools/lint with TypeScript 6, see its package.json.
import tseslint from 'typescript-eslint';

const IO = ['knex', 'express', 'mysql2', 'mysql2/*', 'better-sqlite3', 'node:fs', 'node:fs/*', 'node:http', 'node:https', 'node:net', 'node:tls', 'node:child_process', 'node:worker_threads', 'undici'];

/** `no-restricted-imports` patterns: each layer names what it may not reach. */
const layer = (groups, message) => ({ group: groups, message });

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
      'no-restricted-imports': ['error', { patterns: [layer(['**/panel/**', '!**/adapters/panel-*'], 'the add-on does not import the reference panel: use the panel adapter (module/adapters/panel-api.ts)')] }],
    },
  },
  {
    // Short functions in the add-on (issue 20): a function that grows past 80 lines does several jobs.
    files: ['module/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true, IIFEs: true }] },
  },
);
