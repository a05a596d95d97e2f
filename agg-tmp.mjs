// aggregates /tmp/i13-runs/*.json (one narrowed Stryker run per file) into a markdown table
import fs from 'node:fs';
import path from 'node:path';
import { scores, survivors } from './test/mutation/score-reporter.mjs';
const dir = '/tmp/i13-runs';
const reasons = JSON.parse(fs.readFileSync('test/mutation/survivor-reasons.json', 'utf8'));
const files = {};
const when = {};
for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.json'))) {
  const rep = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  for (const [k, v] of Object.entries(rep.files)) {
    const rel = path.relative(process.cwd(), path.resolve(k)).split(path.sep).join('/');
    files[rel] = v;
    when[rel] = fs.statSync(path.join(dir, f)).mtime.toISOString().slice(11, 16);
  }
}
const s = scores(files);
const rows = survivors(files, reasons);
const out = [];
let det = 0, val = 0, eq = 0;
out.push('| file | killed | survived | no coverage | score % | equivalent left | score without them % | measured (UTC) |');
out.push('|---|---|---|---|---|---|---|---|');
for (const [file, { mutants }] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
  const d = mutants.filter((m) => m.status === 'Killed' || m.status === 'Timeout').length;
  const sv = mutants.filter((m) => m.status === 'Survived').length;
  const nc = mutants.filter((m) => m.status === 'NoCoverage').length;
  const e = rows.filter((r) => r.file === file && r.reason?.startsWith('equivalent')).length;
  det += d; val += d + sv + nc; eq += e;
  const pct = (x, y) => (y === 0 ? '100.00' : ((x / y) * 100).toFixed(2));
  out.push(`| ${file} | ${d} | ${sv} | ${nc} | ${s.files[file].toFixed(2)} | ${e} | ${pct(d, d + sv + nc - e)} | ${when[file]} |`);
}
out.push(`| **all measured** | ${det} | | | **${((det / val) * 100).toFixed(2)}** | ${eq} | **${((det / (val - eq)) * 100).toFixed(2)}** | |`);
console.log(out.join('\n'));
if (process.argv[2] === 'survivors') {
  console.log('\n| file:line | mutator | status | code | mutated to | reason |\n|---|---|---|---|---|---|');
  const cell = (x) => String(x).replace(/\|/g, '\\|').replace(/\s+/g, ' ').slice(0, 110);
  for (const r of rows) console.log(`| ${r.file}:${r.line} | ${r.mutator} | ${r.status} | \`${cell(r.text)}\` | \`${cell(r.replacement)}\` | ${cell(r.reason ?? 'none recorded yet')} |`);
}
