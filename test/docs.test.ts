import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';

const ROOT = path.resolve(import.meta.dirname, '..');
const CODE_DIRS = [
  'module',
  'hooks',
  'panel',
  'cli',
  'migrations',
  'simulator',
  'test',
  'tools',
  'bench',
  'modules',
  'bin',
];
const CODE_FILE = /\.(ts|mjs|cjs|js|php|md)$/;

/** Backticked words that look like a path in the repository: a folder or a file with an extension we keep. */
export function backtickedPaths(markdown: string): string[] {
  const out = new Set<string>();
  for (const m of markdown.matchAll(/`([^`\s]+)`/g)) {
    const word = m[1]!;
    if (/[*<>(){}$]/.test(word) || word.startsWith('http')) continue;
    if (word.includes('/') || /\.(ts|md|mjs|php|json|yaml)$/.test(word)) out.add(word);
  }
  return [...out];
}

/** Relative markdown links, resolved against the document's folder. */
export function relativeLinks(markdown: string, docDir: string): string[] {
  return [...markdown.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)]
    .map((m) => m[1]!)
    .filter((l) => !/^[a-z]+:/.test(l))
    .map((l) => path.relative(ROOT, path.resolve(docDir, l)));
}

/** `docs/<file>.md` citations in a file's text, with the quoted section when one follows (`docs/whmcs.md, "Protocol"`). */
export function docCitations(text: string): Array<{ file: string; section: string | null }> {
  return [...text.matchAll(/docs\/([a-z0-9-]+\.md)(?:,\s*"([^"]+)")?/g)].map((m) => ({
    file: m[1]!,
    section: m[2] ?? null,
  }));
}

/** Files that a full mutation run writes into docs/ (test/mutation/score-reporter.mjs): named, not cited. */
const WRITTEN = new Set(['mutation-survivors.md']);

/** Citations of files that are not in the repository (the design notes and reference folder they came from). */
export const OUTSIDE =
  /reference\/[a-z-]+\.md|reference (whmcs|solusvm)\.md|\breference §|billing-anchors|toolchain(\.md| §)|style\.md|DESIGN\.md|(?<!docs\/)(whmcs|solusvm)\.md §|§ ?\d/;

const headingsOf = (file: string) =>
  fs
    .readFileSync(path.join(ROOT, 'docs', file), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('#'))
    .map((l) => l.toLowerCase());

function codeFiles(dir: string): string[] {
  const abs = path.join(ROOT, dir);
  if (!fs.existsSync(abs)) return [];
  return fs.readdirSync(abs, { recursive: true, withFileTypes: true }).flatMap((e) => {
    const full = path.join(e.parentPath, e.name);
    if (!e.isFile() || !CODE_FILE.test(e.name) || full.includes('node_modules')) return [];
    return [path.relative(ROOT, full)];
  });
}

describe('docs/architecture.md', () => {
  const text = fs.readFileSync(path.join(ROOT, 'docs', 'architecture.md'), 'utf8');

  it('names only paths that exist in the repository', () => {
    const paths = backtickedPaths(text);
    // the page names the layers and the state tables at least
    expect(paths).to.include.members([
      'module/domain/',
      'module/index.ts',
      'module/domain/dispute-state.ts',
      'module/domain/hold-state.ts',
      'module/domain/line-status.ts',
      'tools/lint/eslint.config.mjs',
    ]);
    const missing = paths.filter((p) => !fs.existsSync(path.join(ROOT, p)));
    expect(missing, 'backticked paths that do not exist').to.deep.equal([]);
  });

  it('links only to documents that exist', () => {
    const links = relativeLinks(text, path.join(ROOT, 'docs'));
    expect(links).to.include('docs/billing-rules.md');
    expect(links.filter((l) => !fs.existsSync(path.join(ROOT, l)))).to.deep.equal([]);
  });

  it('has one picture of the data flow', () => {
    expect(text.match(/```mermaid/g)).to.have.length(1);
  });
});

describe('the path checks themselves', () => {
  it('find a backticked path, and skip commands, globs and identifiers', () => {
    expect(
      backtickedPaths(
        '`module/nowhere.ts`, `npm run lint`, `mod_overusage_*`, `createModule(deps)`, `held`, `docs/x.md`',
      ),
    ).to.deep.equal(['module/nowhere.ts', 'docs/x.md']);
  });

  it('read a citation with and without its section', () => {
    expect(docCitations('(docs/whmcs.md, "Protocol") and docs/billing-rules.md §2')).to.deep.equal([
      { file: 'whmcs.md', section: 'Protocol' },
      { file: 'billing-rules.md', section: null },
    ]);
  });

  it('flag the citations of files outside the repository', () => {
    for (const bad of [
      '(reference/whmcs.md §1)',
      '(reference whmcs.md §2)',
      '(billing-anchors §6)',
      '(toolchain §3)',
      '(reference §1.5–1.7)',
      'DESIGN.md',
      '(whmcs.md §3.3)',
      '(§6 of the',
    ])
      expect(OUTSIDE.test(bad), bad).to.equal(true);
    expect(OUTSIDE.test('(docs/whmcs.md, "Hook answers")')).to.equal(false);
  });
});

describe('citations in the code', () => {
  const files = CODE_DIRS.flatMap(codeFiles).filter((f) => f !== 'test/docs.test.ts');
  const texts = files.map((f) => ({ f, text: fs.readFileSync(path.join(ROOT, f), 'utf8') }));

  it('cite docs/ files that exist, and sections those files have', () => {
    const wrong: string[] = [];
    for (const { f, text } of texts) {
      for (const c of docCitations(text)) {
        if (WRITTEN.has(c.file)) continue;
        if (!fs.existsSync(path.join(ROOT, 'docs', c.file)))
          wrong.push(`${f}: docs/${c.file} does not exist`);
        else if (c.section && !headingsOf(c.file).some((h) => h.includes(c.section!.toLowerCase())))
          wrong.push(`${f}: docs/${c.file} has no section "${c.section}"`);
      }
    }
    expect(wrong).to.deep.equal([]);
  });

  it('cite no file from outside the repository', () => {
    const outside = texts.flatMap(({ f, text }) =>
      text
        .split('\n')
        .map((line, i) => ({ line, i }))
        .filter(({ line }) => OUTSIDE.test(line))
        .map(({ line, i }) => `${f}:${i + 1}: ${line.trim()}`),
    );
    expect(outside).to.deep.equal([]);
  });
});
