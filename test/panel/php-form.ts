import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import type { ServedApi } from './support.js';

/**
 * A WHMCS API call as WHMCS's own PHP scripts make it: the body is what php-cli's
 * http_build_query() gives for a PHP array literal (nested arrays as `pid%5B0%5D=…`), posted
 * form-encoded to /includes/api.php over real HTTP with the API credentials in the body.
 */
export function phpForm(arrayLiteral: string, extra: Record<string, string> = {}): string {
  const code = `$extra = json_decode($argv[1], true); echo http_build_query($extra + ${arrayLiteral});`;
  const r = spawnSync('php', ['-r', code, '--', JSON.stringify(extra)], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (r.error || r.status !== 0) throw new Error(`php failed: ${r.error?.message ?? r.stderr}`);
  return r.stdout;
}

export interface ApiAnswer {
  status: number;
  body: Record<string, unknown> & { result: string; message?: string };
}

export async function postForm(served: ServedApi, body: string): Promise<ApiAnswer> {
  const res = await fetch(`${served.url}includes/api.php`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  expect(res.headers.get('content-type') ?? '').to.match(/^application\/json/);
  return { status: res.status, body: (await res.json()) as ApiAnswer['body'] };
}

/** Builds the body with php-cli (credentials and responsetype=json added) and posts it. */
export function phpCall(served: ServedApi, arrayLiteral: string): Promise<ApiAnswer> {
  return postForm(
    served,
    phpForm(arrayLiteral, { identifier: served.identifier, secret: served.secret, responsetype: 'json' }),
  );
}

/** A successful call's fields (the test fails with WHMCS's message otherwise). */
export async function phpOk(served: ServedApi, arrayLiteral: string): Promise<Record<string, unknown>> {
  const a = await phpCall(served, arrayLiteral);
  expect(a.body, `${arrayLiteral} → ${JSON.stringify(a.body)}`).to.include({ result: 'success' });
  expect(a.status).to.equal(200);
  return a.body;
}

/** What a PHP client gets from an XML answer: the raw text, SimpleXML's reading, xml_parse_into_struct's leaves. */
const execFileAsync = promisify(execFile);

export interface XmlAnswer {
  status: number;
  contentType: string;
  raw: string;
  /** json_decode(json_encode(simplexml_load_string($xml, 'SimpleXMLElement', LIBXML_NOCDATA)), true), the usual idiom; false if it did not parse */
  simple: Record<string, unknown> | false;
  /** the root's version attribute, as SimpleXML reads it */
  version: string;
  /** xml_parse_into_struct's complete (leaf) elements in document order: [tag as written, text] */
  leaves: Array<[string, string]>;
}

/**
 * A call made wholly by php-cli, as a WHMCS PHP client makes it: the body from http_build_query
 * (credentials and responsetype=xml added), posted with curl like WHMCS's sample code, the answer
 * read with simplexml_load_string and xml_parse_into_struct (case folding off, so tags keep their case).
 */
export async function phpXmlCall(
  served: ServedApi,
  arrayLiteral: string,
  extra: Record<string, string> = {},
): Promise<XmlAnswer> {
  const code = `
    $extra = json_decode($argv[1], true);
    $ch = curl_init($argv[2]);
    curl_setopt_array($ch, [CURLOPT_POST => 1, CURLOPT_RETURNTRANSFER => 1, CURLOPT_TIMEOUT => 20, CURLOPT_POSTFIELDS => http_build_query($extra + ${arrayLiteral})]);
    $xml = curl_exec($ch);
    if ($xml === false) { fwrite(STDERR, curl_error($ch)); exit(1); }
    $status = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
    $type = (string) curl_getinfo($ch, CURLINFO_CONTENT_TYPE);
    libxml_use_internal_errors(true);
    $sx = simplexml_load_string($xml, 'SimpleXMLElement', LIBXML_NOCDATA);
    $p = xml_parser_create('UTF-8');
    xml_parser_set_option($p, XML_OPTION_CASE_FOLDING, 0);
    $ok = xml_parse_into_struct($p, $xml, $vals);
    $leaves = [];
    foreach ($ok ? $vals : [] as $e) if ($e['type'] === 'complete') $leaves[] = [$e['tag'], $e['value'] ?? ''];
    echo json_encode(['status' => $status, 'contentType' => $type, 'raw' => $xml,
      'simple' => $sx === false ? false : json_decode(json_encode($sx), true),
      'version' => $sx === false ? '' : (string) $sx['version'], 'leaves' => $ok ? $leaves : false]);`;
  // asynchronous: the server answering php runs in this process
  const { stdout } = await execFileAsync(
    'php',
    [
      '-r',
      code,
      '--',
      JSON.stringify({ identifier: served.identifier, secret: served.secret, responsetype: 'xml', ...extra }),
      `${served.url}includes/api.php`,
    ],
    { encoding: 'utf8', timeout: 20_000 },
  );
  return JSON.parse(stdout) as XmlAnswer;
}
