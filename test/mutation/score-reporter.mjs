// A Stryker reporter (plugin "overusage-score", see stryker.config.mjs): after every run it writes,
// beside the run's JSON report (test-output/mutation/ or test-output/mutation/<group>/),
//   score.json     {"files": {"<path>": <score %>}, "total": <score %>}
//   survivors.md   every mutant left alive, with the reason it is left
// test/mutation/run-groups.mjs merges the groups' reports into docs/mutation-score.json and
// docs/mutation-survivors.md with the same functions. The score is Stryker's: (killed + timed out)
// / (killed + timed out + survived + not covered), in per cent, two decimals; compile errors
// (caught by the type checker) and ignored mutants do not count. Reasons come from
// test/mutation/survivor-reasons.json, a list of { file, mutator, line, reason }: each explains the
// survivors of that mutator in that file whose first source line contains `line`.
import fs from 'node:fs';
import path from 'node:path';
import { PluginKind, commonTokens, declareClassPlugin } from '@stryker-mutator/api/plugin';

/**
 * Every recorded reason: test/mutation/survivor-reasons.json, then one file per group in
 * test/mutation/reasons/ (so work on two groups at once does not meet in one file).
 */
export function readReasons(root) {
  const read = (f) => JSON.parse(fs.readFileSync(f, 'utf8'));
  const first = path.join(root, 'test/mutation/survivor-reasons.json');
  const dir = path.join(root, 'test/mutation/reasons');
  const more = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .flatMap((f) => read(path.join(dir, f)))
    : [];
  return [...(fs.existsSync(first) ? read(first) : []), ...more];
}

const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

const score = (detected, valid) => (valid === 0 ? 100 : Math.round((detected / valid) * 10000) / 100);

export function scores(files) {
  const out = {};
  let detected = 0;
  let valid = 0;
  for (const [file, { mutants }] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
    const d = mutants.filter((m) => DETECTED.has(m.status)).length;
    const v = d + mutants.filter((m) => UNDETECTED.has(m.status)).length;
    out[file] = score(d, v);
    detected += d;
    valid += v;
  }
  return { files: out, total: score(detected, valid) };
}

export function survivors(files, reasons) {
  const rows = [];
  for (const [file, { source, mutants }] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
    const lines = source.split('\n');
    for (const m of mutants
      .filter((x) => UNDETECTED.has(x.status))
      .sort((a, b) => a.location.start.line - b.location.start.line)) {
      const text = (lines[m.location.start.line - 1] ?? '').trim();
      const reason =
        reasons.find((r) => r.file === file && r.mutator === m.mutatorName && text.includes(r.line))
          ?.reason ?? null;
      rows.push({
        file,
        line: m.location.start.line,
        mutator: m.mutatorName,
        status: m.status,
        replacement: m.replacement ?? '',
        text,
        reason,
      });
    }
  }
  return rows;
}

const cell = (s) => String(s).replace(/\|/g, '\\|').replace(/\s+/g, ' ').slice(0, 120);

export function survivorsMarkdown(rows, total, commit) {
  const unexplained = rows.filter((r) => !r.reason).length;
  return [
    '# Mutants left alive',
    '',
    `Written by \`npm run test:mutation\` (test/mutation/run-groups.mjs) from every group's run on commit ${commit}; total score ${total} %.`,
    `${rows.length} left, ${unexplained} without a recorded reason (reasons: test/mutation/survivor-reasons.json and test/mutation/reasons/*.json).`,
    '',
    '| file:line | mutator | status | code | mutated to | reason |',
    '|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.file}:${r.line} | ${r.mutator} | ${r.status} | \`${cell(r.text)}\` | \`${cell(r.replacement)}\` | ${cell(r.reason ?? 'none recorded yet')} |`,
    ),
    '',
  ].join('\n');
}

class ScoreReporter {
  static inject = [commonTokens.options];
  constructor(options) {
    this.dir = path.dirname(options.jsonReporter.fileName);
  }

  onMutationTestReportReady(report) {
    const root = process.cwd();
    const out = path.join(root, this.dir);
    const reasons = readReasons(root);
    const files = Object.fromEntries(
      Object.entries(report.files).map(([f, v]) => [
        path.relative(root, path.resolve(root, f)).split(path.sep).join('/'),
        v,
      ]),
    );
    const s = scores(files);
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, 'score.json'), `${JSON.stringify(s, null, 2)}\n`);
    fs.writeFileSync(
      path.join(out, 'survivors.md'),
      survivorsMarkdown(survivors(files, reasons), s.total, 'this run'),
    );
  }
}

export const strykerPlugins = [declareClassPlugin(PluginKind.Reporter, 'overusage-score', ScoreReporter)];
