/**
 * WHMCS's hook-answer table for the PHP side of the bridge, written from the one in TypeScript
 * (module/domain/hook-answers.ts HOOK_STYLE and CONTROL_KEYS): modules/addons/overusage/lib/
 * HookAnswers.php is this file's output, committed so the addon folder needs no build. Run
 * `npm run generate:php` after changing the table; test/bridge/hook-answers-php.test.ts fails while
 * the committed file differs from what this writes, and checks that PHP reads the same table.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CONTROL_KEYS, HOOK_STYLE } from '../module/domain/hook-answers.js';

export const HOOK_ANSWERS_PHP = path.resolve(
  import.meta.dirname,
  '..',
  'modules',
  'addons',
  'overusage',
  'lib',
  'HookAnswers.php',
);

const phpString = (s: string): string => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

/** The text of lib/HookAnswers.php for the table as it is now. */
export function hookAnswersPhp(): string {
  const styles = Object.entries(HOOK_STYLE).map(
    ([hook, style]) => `        ${phpString(hook)} => ${phpString(style)},`,
  );
  const controls = [...CONTROL_KEYS].map((k) => `        ${phpString(k)},`);
  return [
    '<?php',
    '',
    'declare(strict_types=1);',
    '',
    'namespace WHMCS\\Module\\Addon\\Overusage;',
    '',
    '/**',
    ' * WHMCS\'s hook-answer semantics for the PHP side (docs/whmcs.md, "Hook answers"). GENERATED from',
    ' * module/domain/hook-answers.ts by tools/hook-answers-php.ts (npm run generate:php): do not edit.',
    ' */',
    'final class HookAnswers',
    '{',
    "    /** how WHMCS treats each hook's return value; a hook not listed ignores it */",
    '    public const STYLE = [',
    ...styles,
    '    ];',
    '',
    '    /** the keys of a merged answer that stop what WHMCS was about to do: true or false, nothing else */',
    '    public const CONTROL_KEYS = [',
    ...controls,
    '    ];',
    '}',
    '',
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  fs.writeFileSync(HOOK_ANSWERS_PHP, hookAnswersPhp());
  console.log(`written: ${path.relative(process.cwd(), HOOK_ANSWERS_PHP)}`);
}
