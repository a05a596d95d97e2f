import { spawnSync } from 'node:child_process';
import { REQUIRE_PHP } from '../bridge/support.js';

/**
 * What PHP itself does with a form body, through php-cli: http_build_query as WHMCS's PHP clients
 * build their POST bodies, parse_str as PHP builds $_POST from them.
 */
function runPhp(code: string, stdin: string): string {
  const r = spawnSync('php', ['-d', 'display_errors=stderr', '-r', code], {
    input: stdin,
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (r.error || r.status !== 0) throw new Error(`php failed: ${r.error?.message ?? r.stderr}`);
  return r.stdout;
}

export function phpAvailable(): boolean {
  const r = spawnSync('php', ['-v'], { encoding: 'utf8', timeout: 20_000 });
  return !r.error && r.status === 0;
}

/** Skips without php-cli, unless CI requires it (OVERUSAGE_TEST_REQUIRE_PHP=1). */
export function needPhp(ctx: Mocha.Context): void {
  if (phpAvailable()) return;
  if (REQUIRE_PHP) throw new Error('php-cli is required (OVERUSAGE_TEST_REQUIRE_PHP=1) but not usable');
  ctx.skip();
}

/** http_build_query of a PHP array given as JSON (objects become associative arrays). */
export function phpBuildQuery(value: unknown): string {
  return runPhp(
    'echo http_build_query(json_decode(stream_get_contents(STDIN), true));',
    JSON.stringify(value),
  );
}

/** parse_str of a body, as JSON with every array an object (JSON_FORCE_OBJECT), keys in PHP's order. */
export function phpParseStr(body: string): unknown {
  return JSON.parse(
    runPhp('parse_str(stream_get_contents(STDIN), $out); echo json_encode($out, JSON_FORCE_OBJECT);', body),
  );
}
