/**
 * Pure parsing of SolusVM 1 Admin API answers (docs/solusvm.md, "SolusVM 1 Admin API"). A body is
 * trusted only when it parses and says status=success; everything else becomes a SolusVmError,
 * never a default value, so a bad read can never be stored as zero usage.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { parseJsonNumbersAsText } from './exact-json.js';
import { type ServerState, SolusVmError } from './solusvm-types.js';

/** A parsed field: text (numbers arrive as their source text), a nested record, or a list of them. */
export type V1Value = string | boolean | null | V1Record | V1Value[];
export interface V1Record {
  [field: string]: V1Value;
}

export interface V1Response {
  format: 'xml' | 'json';
  /** always 'success': other statuses are thrown */
  status: 'success';
  /** '' when empty or missing */
  statusmsg: string;
  fields: V1Record;
}

export interface ParseOptions {
  /** removes credentials from text kept in errors */
  scrub?: (text: string) => string;
  httpStatus?: number | null;
}

/** total,used,free,percent exactly as SolusVM packs them for bandwidth, hdd and memory. */
export interface PackedUsage {
  totalBytes: bigint;
  usedBytes: bigint;
  /** total − used as SolusVM sent it; negative when over the limit */
  freeBytes: bigint | null;
  /** SolusVM's rounded percent, kept as evidence only (may exceed 100); null when unreadable */
  percent: bigint | null;
  /** total, or null when total is 0 (no limit) */
  limitBytes: bigint | null;
  raw: string;
}

export interface V1InfoAll {
  state: ServerState;
  /** state as sent ('' when nostatus was asked) */
  rawState: string;
  bandwidth: PackedUsage;
  hdd: PackedUsage | null;
  memory: PackedUsage | null;
  node: string | null;
  type: string | null;
  mainIpAddress: string | null;
  ipAddresses: string[];
  internalIps: string[];
  fields: V1Record;
}

export interface V1VirtualServer {
  vserverid: string;
  ctidXid: string | null;
  clientid: string | null;
  ipaddress: string | null;
  hostname: string | null;
  template: string | null;
  type: string | null;
  fields: V1Record;
}

const XML_ROOT = 'solusvmroot';

const xml = new XMLParser({
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false, // keep every value as its text: numbers become bigint later, never floats
  trimValues: true,
  processEntities: true,
  isArray: (_name, jpath) => jpath === `${XML_ROOT}.virtualservers.virtualserver`,
});

const bad = (message: string, body: string, opts: ParseOptions, code?: string): SolusVmError =>
  new SolusVmError('bad_response', message, {
    httpStatus: opts.httpStatus ?? null,
    snippet: (opts.scrub ?? ((t: string) => t))(body.slice(0, 400)).slice(0, 200),
    ...(code ? { code } : {}),
  });

/** Bare-text answers (HTTP 200, no XML, no JSON), even when rdtype=json was sent. */
export function classifyBareText(text: string, opts: ParseOptions = {}): SolusVmError | null {
  const t = text.trim();
  const snippet = (opts.scrub ?? ((s: string) => s))(t.slice(0, 200));
  const common = { httpStatus: opts.httpStatus ?? null, snippet };
  if (/invalid (id|key) or (key|hash)/i.test(t)) {
    return new SolusVmError(
      'auth',
      `the master refused the API id/key ("${snippet}"): check them under Configuration > API Access in SolusVM`,
      { ...common, code: 'INVALID_ID_OR_KEY' },
    );
  }
  if (/invalid ip ?address/i.test(t)) {
    return new SolusVmError(
      'ip_refused',
      `the master refused this server's IP address ("${snippet}"): add this server's IP to the API user's allowed IPs in SolusVM > Configuration > API Access`,
      { ...common, code: 'INVALID_IPADDRESS' },
    );
  }
  if (/not found|does not exist/i.test(t)) {
    return new SolusVmError('not_found', `SolusVM says: ${snippet}`, { ...common, code: 'NOT_FOUND' });
  }
  return null;
}

const looksLikeHtml = (t: string): boolean =>
  /^<!doctype\s+html/i.test(t) || (/<(html|head|body|title)[\s>]/i.test(t) && !/<status>/i.test(t));

/**
 * Parses any SolusVM 1 answer body: XML fragments, JSON, bare text or an HTML page. Returns the
 * fields of a status=success answer; throws SolusVmError for everything else.
 */
export function parseV1Body(body: string, opts: ParseOptions = {}): V1Response {
  const text = body.replace(/^\uFEFF/, '').trim();
  if (text === '') throw bad('the master sent an empty answer', body, opts, 'EMPTY');
  let format: 'xml' | 'json';
  let fields: V1Record;
  if (text.startsWith('{') || text.startsWith('[')) {
    format = 'json';
    fields = parseJsonFields(text, body, opts);
  } else if (text.startsWith('<')) {
    if (looksLikeHtml(text)) {
      throw bad(
        'an HTML page came back instead of an API answer: probably an htpasswd prompt, a proxy or a login page in front of the master (check the URL and basic-auth settings)',
        body,
        opts,
        'HTML_PAGE',
      );
    }
    // SolusVM never sends a DTD; refusing one also rules out entity-expansion tricks
    if (/<!DOCTYPE/i.test(text))
      throw bad('the master sent XML with a DOCTYPE, which SolusVM never does', body, opts, 'MALFORMED_XML');
    format = 'xml';
    fields = parseXmlFields(text, body, opts);
  } else {
    throw (
      classifyBareText(text, opts) ??
      bad(
        `the master answered with plain text instead of XML or JSON: "${(opts.scrub ?? ((s: string) => s))(text.slice(0, 120))}"`,
        body,
        opts,
        'BARE_TEXT',
      )
    );
  }
  return checkStatus(format, fields, body, opts);
}

function checkStatus(format: 'xml' | 'json', fields: V1Record, body: string, opts: ParseOptions): V1Response {
  const status = textOf(fields['status']);
  const statusmsg = textOf(fields['statusmsg']) ?? '';
  if (status === null || status === '') {
    // the Ruby gem treats a missing status as success; for billing data that is how zeros get stored
    throw bad('the answer has no status field, so it cannot be trusted', body, opts, 'NO_STATUS');
  }
  if (status.toLowerCase() === 'success') return { format, status: 'success', statusmsg, fields };
  if (status.toLowerCase() === 'error') {
    const scrubbed = (opts.scrub ?? ((s: string) => s))(statusmsg);
    const known = classifyBareText(statusmsg, opts);
    if (known) throw known;
    throw new SolusVmError('app_error', `SolusVM answered an error: ${scrubbed || '(no message)'}`, {
      httpStatus: opts.httpStatus ?? null,
      snippet: scrubbed.slice(0, 200),
      code: 'STATUS_ERROR',
    });
  }
  throw bad(`the answer has an unknown status "${status.slice(0, 40)}"`, body, opts, 'UNKNOWN_STATUS');
}

function parseJsonFields(text: string, body: string, opts: ParseOptions): V1Record {
  let value: unknown;
  try {
    // numbers keep their source text, so values over 2^53 stay exact
    value = parseJsonNumbersAsText(text);
  } catch {
    throw bad('the master sent malformed JSON', body, opts, 'MALFORMED_JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw bad('the master sent JSON that is not an object', body, opts, 'MALFORMED_JSON');
  }
  return value as V1Record;
}

function parseXmlFields(text: string, body: string, opts: ParseOptions): V1Record {
  const fragment = repairXml(text.replace(/^<\?xml[^>]*\?>/i, ''));
  const wrapped = `<${XML_ROOT}>${fragment}</${XML_ROOT}>`;
  const valid = XMLValidator.validate(wrapped);
  if (valid !== true) {
    // a parser's own words ("Tag '</root' is an invalid name") tell an operator nothing
    const cut = !/<\/status>/i.test(text) || !/>\s*$/.test(text.trim());
    throw bad(
      cut
        ? `the master's answer was cut off before its end (${body.length} bytes arrived): the connection or a proxy broke it, or PHP on the master stopped; the read is tried again on the next run`
        : `the master's answer is not well-formed XML (${valid.err.msg.replaceAll(XML_ROOT, 'answer').replace(/^Tag '<\/answer' is an invalid name\.?$/, 'an element is not closed')}); check the master's PHP error log`,
      body,
      opts,
      'MALFORMED_XML',
    );
  }
  let parsed: unknown;
  try {
    parsed = xml.parse(wrapped);
  } catch (e) {
    throw bad(`the master sent malformed XML (${(e as Error).message})`, body, opts, 'MALFORMED_XML');
  }
  const root = (parsed as Record<string, unknown>)[XML_ROOT];
  if (root === '' || root === undefined) return {};
  if (typeof root !== 'object' || root === null) {
    throw bad('the master sent XML without any fields', body, opts, 'MALFORMED_XML');
  }
  const out: V1Record = {};
  for (const [k, v] of Object.entries(root as Record<string, unknown>)) {
    if (k === '#text') continue; // junk text between elements, e.g. the stray "." of old fixtures
    // a repeated top-level tag: the first one counts
    out[k] = (Array.isArray(v) && k !== 'virtualservers' ? v[0] : v) as V1Value;
  }
  return out;
}

/**
 * Drops closing tags that close nothing (Blesta patches a stray </sessionexpire>), and escapes a
 * bare & in text. Anything else malformed is left for the validator to refuse.
 */
export function repairXml(fragment: string): string {
  const stack: string[] = [];
  const escaped = fragment.replace(/&(?!(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);)/g, '&amp;');
  return escaped.replace(
    /<(\/?)([A-Za-z_][\w.:-]*)([^>]*)>/g,
    (tag, slash: string, name: string, rest: string) => {
      if (slash) {
        const at = stack.lastIndexOf(name);
        if (at === -1) return '';
        stack.length = at;
        return tag;
      }
      if (!rest.trimEnd().endsWith('/')) stack.push(name);
      return tag;
    },
  );
}

/** The text of a field, whatever form it came in; null when absent. */
export function textOf(v: V1Value | undefined): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return null;
}

const INTEGER = /^-?\d+$/;

/** Parses "total,used,free,percent". Bytes are bigint; nothing is derived from percent. */
export function parsePacked(value: V1Value | undefined, what: string): PackedUsage {
  const raw = textOf(value);
  if (raw === null || raw === '')
    throw new SolusVmError('bad_response', `the answer has no ${what} field`, { code: 'MISSING_FIELD' });
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.length < 2)
    throw new SolusVmError('bad_response', `${what} "${raw.slice(0, 80)}" is not "total,used,free,percent"`, {
      code: 'BAD_FIELD',
    });
  const [totalText = '', usedText = '', freeText, percentText] = parts;
  if (!/^\d+$/.test(totalText) || !/^\d+$/.test(usedText)) {
    throw new SolusVmError(
      'bad_response',
      `${what} "${raw.slice(0, 80)}" does not start with whole byte counts`,
      { code: 'BAD_FIELD' },
    );
  }
  const totalBytes = BigInt(totalText);
  const usedBytes = BigInt(usedText);
  return {
    totalBytes,
    usedBytes,
    freeBytes: freeText !== undefined && INTEGER.test(freeText) ? BigInt(freeText) : null,
    percent: percentText !== undefined && INTEGER.test(percentText) ? BigInt(percentText) : null,
    limitBytes: totalBytes === 0n ? null : totalBytes,
    raw,
  };
}

/** online/offline as is; `disabled` is SolusVM 1's word for suspended. */
export function parseV1State(value: string | null): ServerState {
  switch ((value ?? '').trim().toLowerCase()) {
    case 'online':
      return 'online';
    case 'offline':
      return 'offline';
    case 'disabled':
    case 'suspended':
      return 'suspended';
    default:
      return 'unknown';
  }
}

const splitList = (v: V1Value | undefined): string[] =>
  (textOf(v) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

const optionalPacked = (v: V1Value | undefined, what: string): PackedUsage | null => {
  const t = textOf(v);
  if (t === null || t === '') return null;
  try {
    return parsePacked(v, what);
  } catch {
    return null; // disk and memory are informative only; a bad one must not lose the traffic read
  }
};

export function parseInfoAll(resp: V1Response): V1InfoAll {
  const f = resp.fields;
  const rawState = textOf(f['state']) ?? '';
  return {
    state: parseV1State(rawState),
    rawState,
    bandwidth: parsePacked(f['bandwidth'], 'bandwidth'),
    hdd: optionalPacked(f['hdd'], 'hdd'),
    memory: optionalPacked(f['memory'], 'memory'),
    node: textOf(f['node']) || null,
    type: textOf(f['type']) || null,
    mainIpAddress: textOf(f['mainipaddress']) || null,
    ipAddresses: splitList(f['ipaddresses']),
    internalIps: splitList(f['internalips']),
    fields: f,
  };
}

/** vserver-status puts the state in statusmsg. */
export const parseStatusState = (resp: V1Response): ServerState => parseV1State(resp.statusmsg);

/** node-idlist / listnodes: `nodes` as a comma-separated list (empty when none). */
export const parseNodeList = (resp: V1Response): string[] => splitList(resp.fields['nodes']);

/** node-virtualservers: JSON array, or XML <virtualservers><virtualserver>…; empty in both forms. */
export function parseNodeVirtualServers(resp: V1Response): V1VirtualServer[] {
  const list = resp.fields['virtualservers'];
  let entries: V1Value[];
  if (list === undefined || list === null || list === '') entries = [];
  else if (Array.isArray(list)) entries = list;
  else if (typeof list === 'object') {
    const rec = list as V1Record;
    const inner = rec['virtualserver'];
    if (inner !== undefined) entries = inner === '' ? [] : Array.isArray(inner) ? inner : [inner];
    // PHP's json_encode turns an array with gaps in its keys into {"0":{...},"3":{...}}
    else entries = Object.values(rec);
  } else {
    throw new SolusVmError('bad_response', 'virtualservers is neither a list nor empty', {
      code: 'BAD_FIELD',
    });
  }
  return entries.map((e) => {
    if (e === null || typeof e !== 'object' || Array.isArray(e)) {
      throw new SolusVmError('bad_response', 'a virtualserver entry is not a record', { code: 'BAD_FIELD' });
    }
    const id = textOf(e['vserverid']);
    if (!id)
      throw new SolusVmError('bad_response', 'a virtualserver entry has no vserverid', {
        code: 'MISSING_FIELD',
      });
    return {
      vserverid: id,
      ctidXid: textOf(e['ctid-xid']) || null,
      clientid: textOf(e['clientid']) || null,
      ipaddress: textOf(e['ipaddress']) || null,
      hostname: textOf(e['hostname']) || null,
      template: textOf(e['template']) || null,
      type: textOf(e['type']) || null,
      fields: e,
    };
  });
}
