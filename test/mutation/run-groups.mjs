// `npm run test:mutation`: the groups of test/mutation/groups.mjs one after another, each a Stryker
// run of its files against its own tests (perTest coverage, incremental: a mutant whose code and
// covering tests did not change since the group's last run keeps its result), then the groups'
// reports merged into docs/mutation-score.json and docs/mutation-survivors.md. Those two are
// written only from a complete set: every group run on the same commit with module/, hooks/ and
// test/ unchanged from it. Each group's figures (mutants, time, commit) go to
// test-output/mutation/<group>/run.json and are printed at the end.
//   npm run test:mutation                       every group, then the merge
//   npm run test:mutation -- --group domain     one group (or a,b); the merge if the set is complete
//   npm run test:mutation -- --report           the groups run so far as markdown (for docs/mutation.md)
//   npm run test:mutation -- --mutate FILE ...  a narrowed run, as before (stryker.config.mjs)
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { GROUPS, groupNamed } from './groups.mjs';
import { scores, survivors, survivorsMarkdown } from './score-reporter.mjs';

const root = path.resolve(import.meta.dirname, '../..');
const stryker = path.join(import.meta.dirname, 'stryker.mjs');
const args = process.argv.slice(2);
const git = (...a) => execFileSync('git', a, { cwd: root, encoding: 'utf8' }).trim();

if (args.length > 0 && args[0] !== '--group' && args[0] !== '--report') {
  const r = spawnSync(process.execPath, [stryker, 'run', ...args], { cwd: root, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const groupDir = (name) => path.join(root, 'test-output/mutation', name);
const readJson = (file) => (fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined);

function counts(report) {
  const c = { mutants: 0, killed: 0, timeout: 0, survived: 0, noCoverage: 0, compileError: 0, ignored: 0 };
  const key = { Killed: 'killed', Timeout: 'timeout', Survived: 'survived', NoCoverage: 'noCoverage', CompileError: 'compileError', Ignored: 'ignored' };
  for (const f of Object.values(report.files)) {
    for (const m of f.mutants) {
      c.mutants += 1;
      if (key[m.status]) c[key[m.status]] += 1;
    }
  }
  return c;
}

/** The commit the files are of, or undefined when module/, hooks/ or test/ differ from it. */
function cleanCommit() {
  const dirty = git('status', '--porcelain', '--', 'module', 'hooks', 'test', 'stryker.config.mjs');
  return dirty === '' ? git('rev-parse', 'HEAD') : undefined;
}

function runGroup(g) {
  const commit = cleanCommit();
  const started = new Date();
  console.log(`\n== mutation group ${g.name} (${commit ?? 'uncommitted changes'}) ${started.toISOString()}`);
  const r = spawnSync(process.execPath, [stryker, 'run'], { cwd: root, stdio: 'inherit', env: { ...process.env, MUTATION_GROUP: g.name } });
  const minutes = Math.round((Date.now() - started.getTime()) / 600) / 100;
  const report = readJson(path.join(groupDir(g.name), 'mutation.json'));
  if (r.status !== 0 || !report) throw new Error(`mutation group ${g.name} failed (exit ${r.status})`);
  const s = scores(report.files);
  const run = { group: g.name, commit: commit ?? null, started: started.toISOString(), minutes, ...counts(report), score: s.total, load: fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0] };
  fs.writeFileSync(path.join(groupDir(g.name), 'run.json'), `${JSON.stringify(run, null, 2)}\n`);
  return run;
}

if (args[0] === '--report') {
  groupTable();
  report();
  process.exit(0);
}

const wanted = args[0] === '--group' ? (args[1] ?? '').split(',').map(groupNamed) : GROUPS;
for (const g of wanted) runGroup(g);

const runs = groupTable();

const commits = new Set(runs.map((r) => r?.commit ?? null));
if (commits.size !== 1 || commits.has(null) || cleanCommit() !== [...commits][0]) {
  console.log('\nNot every group has run on this commit with no uncommitted changes: docs/mutation-score.json left as it is.');
  process.exit(0);
}
const files = {};
for (const g of GROUPS) Object.assign(files, readJson(path.join(groupDir(g.name), 'mutation.json')).files);
const s = scores(files);
const reasons = readJson(path.join(root, 'test/mutation/survivor-reasons.json')) ?? [];
fs.writeFileSync(path.join(root, 'docs/mutation-score.json'), `${JSON.stringify(s, null, 2)}\n`);
const commit = [...commits][0];
fs.writeFileSync(path.join(root, 'docs/mutation-survivors.md'), survivorsMarkdown(survivors(files, reasons), s.total, commit));
console.log(`\ndocs/mutation-score.json written: total ${s.total} % (commit ${commit})`);

/** The groups run so far, their files and the mutants left alive, as markdown tables. */
function report() {
  const reasons = readJson(path.join(root, 'test/mutation/survivor-reasons.json')) ?? [];
  const pct = (d, v) => (v === 0 ? '100.00' : ((d / v) * 100).toFixed(2));
  const lines = ['| file | group | killed | timed out | survived | no coverage | ignored | score % |', '|---|---|---|---|---|---|---|---|'];
  const alive = [];
  for (const g of GROUPS) {
    const r = readJson(path.join(groupDir(g.name), 'mutation.json'));
    if (!r) continue;
    const files = Object.fromEntries(Object.entries(r.files).map(([f, v]) => [path.relative(root, path.resolve(root, f)).split(path.sep).join('/'), v]));
    for (const [file, { mutants }] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
      const n = (st) => mutants.filter((m) => m.status === st).length;
      const d = n('Killed') + n('Timeout');
      lines.push(`| ${file} | ${g.name} | ${n('Killed')} | ${n('Timeout')} | ${n('Survived')} | ${n('NoCoverage')} | ${n('Ignored')} | ${pct(d, d + n('Survived') + n('NoCoverage'))} |`);
    }
    alive.push(...survivors(files, reasons));
  }
  console.log(lines.join('\n'));
  console.log('\n| file:line | mutator | status | code | mutated to | reason |\n|---|---|---|---|---|---|');
  const cell = (x) => String(x).replace(/\|/g, '\\|').replace(/\s+/g, ' ').slice(0, 120);
  for (const a of alive) console.log(`| ${a.file}:${a.line} | ${a.mutator} | ${a.status} | \`${cell(a.text)}\` | \`${cell(a.replacement)}\` | ${cell(a.reason ?? 'none recorded yet')} |`);
}

/** Each group's last run: counts, minutes and commit. */
function groupTable() {
  const runs = GROUPS.map((g) => readJson(path.join(groupDir(g.name), 'run.json')));
  console.log('\n| group | mutants | killed | timed out | survived | no coverage | ignored (static) | score % | minutes | load | commit |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of runs.filter(Boolean)) {
    console.log(`| ${r.group} | ${r.mutants} | ${r.killed} | ${r.timeout} | ${r.survived} | ${r.noCoverage} | ${r.ignored} | ${r.score} | ${r.minutes} | ${r.load} | ${r.commit?.slice(0, 7) ?? 'uncommitted'} |`);
  }
  return runs;
}
