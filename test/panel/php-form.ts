import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import type { ServedApi } from './support.js';

/**
 * A WHMCS API call as WHMCS's own PHP scripts make it: the body is what php-cli's
 * http_build_query() gives for a PHP array literal (nested arrays as `pid%5B0%5D=…`), posted
 * form-encoded to /includes/api.php over real HTTP with the API credentials in the body.
 */
export function phpForm(arrayLiteral: string, extra: Record<string, string> = {}): string {
  const code = `$extra = json_decode($argv[1], true); echo http_build_query($extra + ${arrayLiteral});`;
  const r = spawnSync('php', ['-r', code, '--', JSON.stringify(extra)], { encoding: 'utf8', timeout: 20_000 });
  if (r.error || r.status !== 0) throw new Error(`php failed: ${r.error?.message ?? r.stderr}`);
  return r.stdout;
}

export interface ApiAnswer {
  status: number;
  body: Record<string, unknown> & { result: string; message?: string };
}

export async function postForm(served: ServedApi, body: string): Promise<ApiAnswer> {
  const res = await fetch(`${served.url}includes/api.php`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
  expect(res.headers.get('content-type') ?? '').to.match(/^application\/json/);
  return { status: res.status, body: (await res.json()) as ApiAnswer['body'] };
}

/** Builds the body with php-cli (credentials and responsetype=json added) and posts it. */
export function phpCall(served: ServedApi, arrayLiteral: string): Promise<ApiAnswer> {
  return postForm(served, phpForm(arrayLiteral, { identifier: served.identifier, secret: served.secret, responsetype: 'json' }));
}

/** A successful call's fields (the test fails with WHMCS's message otherwise). */
export async function phpOk(served: ServedApi, arrayLiteral: string): Promise<Record<string, unknown>> {
  const a = await phpCall(served, arrayLiteral);
  expect(a.body, `${arrayLiteral} → ${JSON.stringify(a.body)}`).to.include({ result: 'success' });
  expect(a.status).to.equal(200);
  return a.body;
}
