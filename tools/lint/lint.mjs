// npm run lint: ESLint with the project's layer rules (tools/lint/eslint.config.mjs). The linter's
// toolchain is installed here on first use (it needs TypeScript 6, see package.json). Functions
// in module/ longer than 80 lines that existed when the rule came in are listed in
// eslint-suppressions.json; a new one fails, and a split one must be pruned from the list
// (npm run lint -- --prune-suppressions), so the list only shrinks.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const eslint = join(here, 'node_modules', '.bin', 'eslint');
if (!existsSync(eslint)) {
  const ci = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--prefix', here], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (ci.status !== 0) {
    console.error('lint: could not install the linter (npm ci in tools/lint)');
    process.exit(2);
  }
}
// Formatting first (Prettier, print width 110; .prettierignore lists the files not yet formatted).
const prettier = join(root, 'node_modules', '.bin', 'prettier');
const format = spawnSync(prettier, ['--check', '--log-level', 'warn', '**/*.ts'], { cwd: root, stdio: 'inherit' });
if (format.status !== 0) {
  console.error('lint: files not formatted (npm run format writes them)');
  process.exit(1);
}
const run = spawnSync(eslint, ['--config', join(here, 'eslint.config.mjs'), '--suppressions-location', join(here, 'eslint-suppressions.json'), ...process.argv.slice(2), '.'], { cwd: root, stdio: 'inherit' });
process.exit(run.status ?? 2);
