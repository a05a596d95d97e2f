/**
 * `npm run bench:table`: the figures of bench/results.json as a Markdown table, each with when it
 * was measured and the machine's load then; with --write, into the README between its markers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { mergeResults, resultsTable, withTable } from './results-file.js';
import { ROOT } from './support.js';

const table = resultsTable(
  mergeResults(JSON.parse(fs.readFileSync(path.join(ROOT, 'bench', 'results.json'), 'utf8')), []),
);
if (process.argv.includes('--write')) {
  const readme = path.join(ROOT, 'README.md');
  fs.writeFileSync(readme, withTable(fs.readFileSync(readme, 'utf8'), table));
} else {
  process.stdout.write(table);
}
