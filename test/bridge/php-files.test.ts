import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { requirePhp } from './support.js';

const ADDON = path.resolve(import.meta.dirname, '..', '..', 'modules', 'addons', 'overusage');

function phpFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? phpFiles(path.join(dir, e.name)) : e.name.endsWith('.php') ? [path.join(dir, e.name)] : []));
}

/** The addon folder as WHMCS expects it, in plain PHP 8.2 without Composer. */
describe('the WHMCS addon folder (modules/addons/overusage)', () => {
  before(function () {
    requirePhp(this);
  });

  it('has the files WHMCS looks for', () => {
    for (const f of ['overusage.php', 'hooks.php', 'templates/clientarea.tpl', 'lib/Bridge.php']) expect(fs.existsSync(path.join(ADDON, f)), f).to.equal(true);
  });

  it('every PHP file passes php -l, and the entry points refuse to be opened directly', () => {
    for (const file of phpFiles(ADDON)) {
      const r = spawnSync('php', ['-d', 'error_reporting=-1', '-l', file], { encoding: 'utf8' });
      expect(r.status, `${file}: ${r.stdout}${r.stderr}`).to.equal(0);
      const text = fs.readFileSync(file, 'utf8');
      expect(text, file).to.not.match(/vendor\/autoload|composer/i);
      if (!file.includes(`${path.sep}lib${path.sep}`)) expect(text, file).to.include("if (!defined('WHMCS'))");
    }
    const direct = spawnSync('php', [path.join(ADDON, 'hooks.php')], { encoding: 'utf8' });
    expect(direct.stdout).to.equal('This file cannot be accessed directly');
  });
});
