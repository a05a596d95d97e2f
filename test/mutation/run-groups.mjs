// `npm run test:mutation`: the groups of test/mutation/groups.mjs one after another, each a Stryker
// run of its files against its own tests (perTest coverage, incremental: a mutant whose code and
// covering tests did not change since the group's last run keeps its result), then the groups'
// reports merged into docs/mutation-score.json and docs/mutation-survivors.md: the groups that ran
// replace their own entries (files, counts, commit, date), the others are kept, the total is
// recomputed over every group in the file, and a group whose files or tests changed since its
// commit is marked stale (see merge() below). Each group's figures (mutants, time, commit) also go
// to test-output/mutation/<group>/run.json and are printed at the end.
//   npm run test:mutation                       every group, then the merge
//   npm run test:mutation -- --group domain     one group (or a,b), merged into docs/
//   npm run test:mutation -- --merge            no run: merge every group run on this machine again
//   npm run test:mutation -- --group rating --minutes 40   stopped after 40 minutes: a partial
//                                               result, and the next run goes on from it
//   npm run test:mutation -- --report           the groups run so far as markdown (for docs/mutation.md)
//   npm run test:mutation -- --mutate FILE ...  a narrowed run, as before (stryker.config.mjs)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { GROUPS, groupNamed } from './groups.mjs';
import { readReasons, scores, survivors } from './score-reporter.mjs';

const root = path.resolve(import.meta.dirname, '../..');
const stryker = path.join(import.meta.dirname, 'stryker.mjs');
const args = process.argv.slice(2);
const git = (...a) => execFileSync('git', a, { cwd: root, encoding: 'utf8' }).trim();

// --minutes N (after the other arguments): stop each group after N minutes, keeping what it found
const minutesAt = args.indexOf('--minutes');
const limit = minutesAt >= 0 ? Number(args[minutesAt + 1]) : null;
if (minutesAt >= 0) args.splice(minutesAt, 2);
if (limit !== null && !(limit > 0)) throw new Error('--minutes needs a number of minutes above 0');

if (args.length > 0 && !['--group', '--report', '--merge'].includes(args[0])) {
  const r = spawnSync(process.execPath, [stryker, 'run', ...args], { cwd: root, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const groupDir = (name) => path.join(root, 'test-output/mutation', name);
const readJson = (file) => (fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined);

function counts(report) {
  const c = { mutants: 0, killed: 0, timeout: 0, survived: 0, noCoverage: 0, compileError: 0, ignored: 0 };
  const key = {
    Killed: 'killed',
    Timeout: 'timeout',
    Survived: 'survived',
    NoCoverage: 'noCoverage',
    CompileError: 'compileError',
    Ignored: 'ignored',
  };
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

/**
 * One group's Stryker run. With --minutes N it is stopped after N minutes (SIGTERM: Stryker then
 * writes the results it has to the group's incremental file, and the next run goes on from there):
 * the run is recorded as partial, from the mutants tested so far, against all it instrumented.
 */
async function runGroup(g) {
  const commit = cleanCommit();
  const started = new Date();
  const mutationFile = path.join(groupDir(g.name), 'mutation.json');
  const incrementalFile = path.join(groupDir(g.name), 'incremental.json');
  console.log(
    `\n== mutation group ${g.name} (${commit ?? 'uncommitted changes'}) ${started.toISOString()}${limit ? `, stopped after ${limit} min if not done` : ''}`,
  );
  const child = spawn(process.execPath, [stryker, 'run'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, MUTATION_GROUP: g.name },
  });
  let instrumented = null;
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    const m = /Instrumented \d+ source file\(s\) with (\d+) mutant\(s\)/.exec(String(chunk));
    if (m) instrumented = Number(m[1]);
  });
  const timer = limit ? setTimeout(() => child.kill('SIGTERM'), limit * 60_000) : null;
  const [code, signal] = await new Promise((resolve) => child.on('close', (c, sig) => resolve([c, sig])));
  if (timer) clearTimeout(timer);
  const minutes = Math.round((Date.now() - started.getTime()) / 600) / 100;
  const fresh = (file) => fs.existsSync(file) && fs.statSync(file).mtimeMs >= started.getTime();
  const partial = !(code === 0 && fresh(mutationFile));
  // Stryker saves what it has on SIGTERM and exits 143 (128 + 15)
  const stopped = signal === 'SIGTERM' || code === 143;
  if (partial && !(stopped && fresh(incrementalFile)))
    throw new Error(`mutation group ${g.name} failed (exit ${code ?? signal})`);
  const report = readJson(partial ? incrementalFile : mutationFile);
  if (partial) fs.writeFileSync(mutationFile, `${JSON.stringify(report)}\n`);
  const s = scores(report.files);
  const c = counts(report);
  const run = {
    group: g.name,
    commit: commit ?? null,
    head: git('rev-parse', 'HEAD'),
    started: started.toISOString(),
    minutes,
    ...c,
    score: s.total,
    load: fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0],
    ...(partial ? { partial: true, instrumented } : {}),
  };
  fs.writeFileSync(path.join(groupDir(g.name), 'run.json'), `${JSON.stringify(run, null, 2)}\n`);
  if (partial)
    console.log(
      `\n${g.name} stopped after ${minutes} min: ${c.mutants} of ${instrumented ?? '?'} mutants have a result (${s.total} % over those); the next run goes on from them`,
    );
  return run;
}

if (args[0] === '--report') {
  groupTable();
  report();
  process.exit(0);
}

const wanted =
  args[0] === '--merge' ? [] : args[0] === '--group' ? (args[1] ?? '').split(',').map(groupNamed) : GROUPS;
const ran = [];
for (const g of wanted) ran.push(await runGroup(g));
groupTable();
// --merge alone re-merges every group run on this machine (after a reason is added, say)
merge(
  args[0] === '--merge'
    ? GROUPS.filter((g) => fs.existsSync(path.join(groupDir(g.name), 'run.json')))
    : wanted,
  ran,
);

/**
 * Merges the groups given (run on this machine: their test-output/mutation/<group>/ reports) into
 * docs/mutation-score.json and docs/mutation-survivors.md; the groups in those files that did not
 * run here keep what they had (a group's run is not kept across machines, its figures are).
 *   {"files": {"<path>": <score %>}, "total": <score %>,
 *    "groups": {"<group>": {commit, date, minutes, mutants, killed, timeout, survived, noCoverage,
 *                           ignored, score, mutate, tests, files: [<path>], stale}}}
 * total is recomputed from the counts of every group in the file. A group is stale when its
 * mutated files or its test files (its globs in groups.mjs) differ now from its recorded commit,
 * or groups.mjs names other files or tests for it than it ran with: its figures are then of other code.
 */
function merge(groups, runs = []) {
  if (groups.length === 0) return;
  const scoreFile = path.join(root, 'docs/mutation-score.json');
  const survivorsFile = path.join(root, 'docs/mutation-survivors.md');
  const old = readJson(scoreFile) ?? { files: {}, total: null, groups: {} };
  const byGroup = { ...(old.groups ?? {}) };
  const files = { ...old.files };
  const reasons = readReasons(root);
  const sections = survivorSections(
    fs.existsSync(survivorsFile) ? fs.readFileSync(survivorsFile, 'utf8') : '',
  );
  // a group groups.mjs no longer has (split or renamed): its figures are of files now measured in
  // other groups, so they go with its files' scores and its section, not left to count twice
  for (const n of Object.keys(byGroup).filter((n) => !GROUPS.some((g) => g.name === n))) {
    for (const f of byGroup[n].files ?? []) delete files[f];
    delete byGroup[n];
    delete sections[n];
    console.log(`docs/: the figures of group ${n}, no longer in groups.mjs, dropped`);
  }
  for (const g of groups) {
    const run = runs.find((r) => r.group === g.name) ?? readJson(path.join(groupDir(g.name), 'run.json'));
    const report = readJson(path.join(groupDir(g.name), 'mutation.json'));
    if (!run || !report) continue;
    const mine = Object.fromEntries(
      Object.entries(report.files).map(([f, v]) => [
        path.relative(root, path.resolve(root, f)).split(path.sep).join('/'),
        v,
      ]),
    );
    for (const f of byGroup[g.name]?.files ?? []) delete files[f];
    Object.assign(files, scores(mine).files);
    // a run with uncommitted changes is recorded against the commit it started from: stale at once
    const commit = run.commit ?? run.head ?? git('rev-parse', 'HEAD');
    byGroup[g.name] = {
      commit,
      date: run.started,
      minutes: run.minutes,
      ...Object.fromEntries(
        ['mutants', 'killed', 'timeout', 'survived', 'noCoverage', 'ignored'].map((k) => [k, run[k]]),
      ),
      score: run.score,
      ...(run.commit ? {} : { uncommitted: true }),
      // stopped by --minutes: the counts are of the mutants tested so far, of `instrumented`
      ...(run.partial ? { partial: true, instrumented: run.instrumented } : {}),
      mutate: g.mutate,
      tests: g.tests,
      files: Object.keys(mine).sort(),
    };
    const alive = survivors(mine, reasons);
    sections[g.name] = survivorsSection(g.name, byGroup[g.name], alive);
  }
  const names = GROUPS.map((g) => g.name).filter((n) => byGroup[n]);
  for (const n of names) byGroup[n].stale = isStale(groupNamed(n), byGroup[n]);
  const sum = (k) => names.reduce((a, n) => a + byGroup[n][k], 0);
  const detected = sum('killed') + sum('timeout');
  const valid = detected + sum('survived') + sum('noCoverage');
  const total = valid === 0 ? 100 : Math.round((detected / valid) * 10000) / 100;
  const sortedFiles = Object.fromEntries(Object.entries(files).sort(([a], [b]) => a.localeCompare(b)));
  const out = { files: sortedFiles, total, groups: Object.fromEntries(names.map((n) => [n, byGroup[n]])) };
  fs.writeFileSync(scoreFile, `${JSON.stringify(out, null, 2)}\n`);
  fs.writeFileSync(survivorsFile, survivorsDocument(out, names.map((n) => sections[n]).filter(Boolean)));
  const missing = GROUPS.map((g) => g.name).filter((n) => !byGroup[n]);
  const stale = names.filter((n) => byGroup[n].stale);
  console.log(
    `\ndocs/mutation-score.json: total ${total} % over ${names.join(', ')}${missing.length ? ` (never run: ${missing.join(', ')})` : ''}${stale.length ? ` (stale: ${stale.join(', ')})` : ''}`,
  );
}

/** Whether a group's files or tests differ now (working tree included) from the commit its figures are of. */
function isStale(g, entry) {
  if (entry.uncommitted) return true;
  if (
    JSON.stringify(entry.mutate) !== JSON.stringify(g.mutate) ||
    JSON.stringify(entry.tests) !== JSON.stringify(g.tests)
  )
    return true;
  const spec = [...g.mutate, ...g.tests].map((p) =>
    p.startsWith('!') ? `:(glob,exclude)${p.slice(1)}` : `:(glob)${p}`,
  );
  const changed = spawnSync('git', ['diff', '--quiet', entry.commit, '--', ...spec], { cwd: root });
  if (changed.status !== 0) return true;
  return git('ls-files', '--others', '--exclude-standard', '--', ...spec) !== '';
}

/** docs/mutation-survivors.md split into its groups' sections ("## <group>" to the next). */
function survivorSections(text) {
  const out = {};
  for (const part of text.split(/^(?=## )/m).slice(1)) {
    const name = /^## (\S+)/.exec(part)?.[1];
    if (name) out[name] = part.trimEnd();
  }
  return out;
}

function survivorsSection(name, entry, alive) {
  const cell = (x) => String(x).replace(/\|/g, '\\|').replace(/\s+/g, ' ').slice(0, 120);
  return [
    `## ${name}`,
    '',
    `Commit ${entry.commit.slice(0, 7)}, ${entry.date}: ${entry.mutants} mutants${entry.partial ? ` with a result of ${entry.instrumented ?? '?'} (stopped after ${entry.minutes} min)` : ''}, score ${entry.score} %; ${alive.length} left alive, ${alive.filter((a) => !a.reason).length} without a recorded reason.`,
    '',
    '| file:line | mutator | status | code | mutated to | reason |',
    '|---|---|---|---|---|---|',
    ...alive.map(
      (a) =>
        `| ${a.file}:${a.line} | ${a.mutator} | ${a.status} | \`${cell(a.text)}\` | \`${cell(a.replacement)}\` | ${cell(a.reason ?? 'none recorded yet')} |`,
    ),
  ].join('\n');
}

function survivorsDocument(out, sections) {
  const rows = Object.entries(out.groups).map(
    ([n, e]) =>
      `| ${n} | ${e.commit.slice(0, 7)} | ${e.date.slice(0, 16).replace('T', ' ')} | ${e.mutants} | ${e.survived} | ${e.noCoverage} | ${e.score} | ${e.stale ? 'yes' : 'no'} |`,
  );
  return [
    '# Mutants left alive',
    '',
    'Written by `npm run test:mutation` (test/mutation/run-groups.mjs): each group\'s section is replaced when the group runs, the others are kept as they were. Reasons: test/mutation/survivor-reasons.json and test/mutation/reasons/<group>.json ("equivalent": no input tells the mutant from the code; "acceptable": an input could, but not one the panel or SolusVM sends).',
    '',
    `Total score over the groups below: ${out.total} %.`,
    '',
    '| group | commit | run (UTC) | mutants | survived | no coverage | score % | stale |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    ...sections.flatMap((x) => [x, '']),
  ].join('\n');
}

/** The groups run so far, their files and the mutants left alive, as markdown tables. */
function report() {
  const reasons = readReasons(root);
  const pct = (d, v) => (v === 0 ? '100.00' : ((d / v) * 100).toFixed(2));
  const lines = [
    '| file | group | killed | timed out | survived | no coverage | ignored | score % |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const alive = [];
  for (const g of GROUPS) {
    const r = readJson(path.join(groupDir(g.name), 'mutation.json'));
    if (!r) continue;
    const files = Object.fromEntries(
      Object.entries(r.files).map(([f, v]) => [
        path.relative(root, path.resolve(root, f)).split(path.sep).join('/'),
        v,
      ]),
    );
    for (const [file, { mutants }] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
      const n = (st) => mutants.filter((m) => m.status === st).length;
      const d = n('Killed') + n('Timeout');
      lines.push(
        `| ${file} | ${g.name} | ${n('Killed')} | ${n('Timeout')} | ${n('Survived')} | ${n('NoCoverage')} | ${n('Ignored')} | ${pct(d, d + n('Survived') + n('NoCoverage'))} |`,
      );
    }
    alive.push(...survivors(files, reasons));
  }
  console.log(lines.join('\n'));
  console.log('\n| file:line | mutator | status | code | mutated to | reason |\n|---|---|---|---|---|---|');
  const cell = (x) => String(x).replace(/\|/g, '\\|').replace(/\s+/g, ' ').slice(0, 120);
  for (const a of alive)
    console.log(
      `| ${a.file}:${a.line} | ${a.mutator} | ${a.status} | \`${cell(a.text)}\` | \`${cell(a.replacement)}\` | ${cell(a.reason ?? 'none recorded yet')} |`,
    );
}

/** Each group's last run: counts, minutes and commit. */
function groupTable() {
  const runs = GROUPS.map((g) => readJson(path.join(groupDir(g.name), 'run.json')));
  console.log(
    '\n| group | mutants | killed | timed out | survived | no coverage | ignored (static) | score % | minutes | load | commit |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of runs.filter(Boolean)) {
    console.log(
      `| ${r.group} | ${r.mutants} | ${r.killed} | ${r.timeout} | ${r.survived} | ${r.noCoverage} | ${r.ignored} | ${r.score} | ${r.minutes} | ${r.load} | ${r.commit?.slice(0, 7) ?? 'uncommitted'} |`,
    );
  }
  return runs;
}
