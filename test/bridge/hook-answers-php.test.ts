import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { combineAnswers, CONTROL_KEYS, HOOK_STYLE } from '../../module/domain/hook-answers.js';
import { HOOK_ANSWERS_PHP, hookAnswersPhp } from '../../tools/hook-answers-php.js';
import { requirePhp } from './support.js';

const LIB = path.dirname(HOOK_ANSWERS_PHP);

/** Runs PHP with the addon's lib/ loaded; its JSON output. */
function php(code: string): unknown {
  const boot = `require ${JSON.stringify(path.join(LIB, 'bootstrap.php'))}; use WHMCS\\Module\\Addon\\Overusage\\{HookAnswers, Hooks};`;
  const r = spawnSync('php', ['-d', 'display_errors=stderr', '-r', boot + code], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (r.error || r.status !== 0) throw new Error(`php failed: ${r.error?.message ?? r.stderr}`);
  return JSON.parse(r.stdout);
}

/**
 * WHMCS's hook-answer rules exist once, in module/domain/hook-answers.ts; the PHP side of the bridge
 * (lib/Hooks.php) reads them from lib/HookAnswers.php, which tools/hook-answers-php.ts writes from
 * that table (npm run generate:php).
 */
describe('the PHP side of the hook answers against module/domain/hook-answers.ts', () => {
  before(function () {
    requirePhp(this);
  });

  it('has lib/HookAnswers.php exactly as the generator writes it from the TypeScript table', () => {
    expect(fs.readFileSync(HOOK_ANSWERS_PHP, 'utf8'), 'run npm run generate:php').to.equal(hookAnswersPhp());
  });

  it('reads in PHP the same style for every hook and the same control keys', () => {
    expect(
      php('echo json_encode(["style" => HookAnswers::STYLE, "control" => HookAnswers::CONTROL_KEYS]);'),
    ).to.deep.equal({
      style: HOOK_STYLE,
      control: [...CONTROL_KEYS],
    });
  });

  it('hands WHMCS each of the four control keys as true or false, as the TypeScript side combines them', () => {
    // the service's merged answer for EmailPreSend, with a control key given as 1 / '1' / 0 / 'yes'
    // (what a handler's PHP-ish truthy value could look like), and a plain key left alone
    const values = { abortsend: 1, abortcmd: '1', abortCancel: 0, abortLogging: true, note: 'kept' };
    const toWhmcs = `$m = new ReflectionMethod(Hooks::class, 'toWhmcs'); $h = (new ReflectionClass(Hooks::class))->newInstanceWithoutConstructor();`;
    const given = JSON.stringify({ kind: 'merge', values });
    const out = php(
      `${toWhmcs} echo json_encode($m->invoke($h, 'EmailPreSend', json_decode(${JSON.stringify(given)}, true), []));`,
    );
    // PHP keeps only a strict true as true: 1 and '1' are not the JSON true the service sends
    expect(out).to.deep.equal({
      abortsend: false,
      abortcmd: false,
      abortCancel: false,
      abortLogging: true,
      note: 'kept',
    });
    // the TypeScript side sends booleans for all four: the service's answer comes back unchanged
    const combined = combineAnswers('merge', [
      { abortsend: true, abortCancel: true },
      { abortLogging: true, abortcmd: false, note: 'kept' },
    ]).merged;
    const back = php(
      `${toWhmcs} echo json_encode($m->invoke($h, 'EmailPreSend', json_decode(${JSON.stringify(JSON.stringify({ kind: 'merge', values: combined }))}, true), []));`,
    );
    expect(back).to.deep.equal({
      abortsend: true,
      abortCancel: true,
      abortLogging: true,
      abortcmd: false,
      note: 'kept',
    });
  });
});
