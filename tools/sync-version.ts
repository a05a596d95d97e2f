/**
 * `npm version <new>` runs this (package.json's "version" script): the WHMCS addon's version
 * (modules/addons/overusage/lib/Version.php) becomes package.json's, so the two never differ
 * (test/bridge/addon-folder.test.ts checks that they do not).
 */
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const version = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string })
  .version;
if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version))
  throw new Error(`package.json's version "${version}" is not x.y.z`);
const file = path.join(root, 'modules', 'addons', 'overusage', 'lib', 'Version.php');
const text = fs.readFileSync(file, 'utf8');
const next = text.replace(/public const NUMBER = '[^']*';/, `public const NUMBER = '${version}';`);
if (next === text && !text.includes(`'${version}'`)) throw new Error(`no version constant found in ${file}`);
fs.writeFileSync(file, next);
console.log(`WHMCS addon version: ${version}`);
