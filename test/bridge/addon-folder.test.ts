import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { MODULE_VERSION } from '../../module/index.js';
import { requirePhp } from './support.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const ADDON = path.join(ROOT, 'modules', 'addons', 'overusage');

function phpFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory()
        ? phpFiles(path.join(dir, e.name))
        : e.name.endsWith('.php')
          ? [path.join(dir, e.name)]
          : [],
    );
}

/** The addon folder as WHMCS expects it, in plain PHP 8.2 without Composer. */
describe('the WHMCS addon folder (modules/addons/overusage)', () => {
  before(function () {
    requirePhp(this);
  });

  it('has the files WHMCS looks for', () => {
    for (const f of [
      'overusage.php',
      'hooks.php',
      'templates/clientarea.tpl',
      'lang/english.php',
      'lang/dutch.php',
      'lib/Pages.php',
    ])
      expect(fs.existsSync(path.join(ADDON, f)), f).to.equal(true);
  });

  it('every PHP file passes php -l, and the entry points refuse to be opened directly', () => {
    for (const file of phpFiles(ADDON)) {
      const r = spawnSync('php', ['-d', 'error_reporting=-1', '-l', file], { encoding: 'utf8' });
      expect(r.status, `${file}: ${r.stdout}${r.stderr}`).to.equal(0);
      const text = fs.readFileSync(file, 'utf8');
      expect(text, file).to.not.match(/vendor\/autoload|composer/i);
      if (!file.includes(`${path.sep}lib${path.sep}`))
        expect(text, file).to.include("if (!defined('WHMCS'))");
    }
    const direct = spawnSync('php', [path.join(ADDON, 'hooks.php')], { encoding: 'utf8' });
    expect(direct.stdout).to.equal('This file cannot be accessed directly');
  });

  it('one class per file under lib/, each named after its file (WHMCS autoloads lib/ that way), and bootstrap.php loads them all', () => {
    const lib = path.join(ADDON, 'lib');
    const classes = fs
      .readdirSync(lib)
      .filter((f) => f.endsWith('.php') && f !== 'bootstrap.php')
      .map((f) => f.slice(0, -4));
    for (const c of classes) {
      const text = fs.readFileSync(path.join(lib, `${c}.php`), 'utf8');
      expect(text, c).to.include('namespace WHMCS\\Module\\Addon\\Overusage;');
      expect(text.match(/^(final |abstract )?(class|interface) \w+/gm), c).to.deep.equal([
        `final class ${c}`,
      ]);
    }
    const bootstrap = fs.readFileSync(path.join(lib, 'bootstrap.php'), 'utf8');
    const loaded = /foreach \(\[([^\]]+)\]/
      .exec(bootstrap)![1]!
      .match(/'(\w+)'/g)!
      .map((s) => s.slice(1, -1));
    expect([...loaded].sort()).to.deep.equal([...classes].sort());
  });

  it('the English and Dutch words have the same keys', () => {
    const keys = (lang: string) => {
      const r = spawnSync(
        'php',
        [
          '-r',
          `define('WHMCS', true); $_ADDONLANG = []; include ${JSON.stringify(path.join(ADDON, 'lang', `${lang}.php`))}; echo json_encode(array_keys($_ADDONLANG));`,
        ],
        { encoding: 'utf8' },
      );
      return (JSON.parse(r.stdout) as string[]).sort();
    };
    expect(keys('english').length).to.be.greaterThan(10);
    expect(keys('dutch')).to.deep.equal(keys('english'));
  });

  it('has one version number: package.json, the service (MODULE_VERSION) and the addon (overusage_config) agree', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(MODULE_VERSION).to.equal(pkg.version);
    const r = spawnSync(
      'php',
      [
        '-r',
        `define('WHMCS', true); require ${JSON.stringify(path.join(ADDON, 'overusage.php'))}; echo overusage_config()['version'];`,
      ],
      { encoding: 'utf8' },
    );
    expect(r.stdout).to.equal(pkg.version);
  });
});
