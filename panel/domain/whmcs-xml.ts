/**
 * WHMCS's XML answer (`responsetype=xml`), written the way WHMCS 7 and 8 write it. No WHMCS page
 * describes the layout; it follows WHMCS's answers as public clients' fixtures record them
 * (docs/whmcs.md, "API answers in XML", names the sources and the details still to be checked
 * against a licensed WHMCS):
 *
 * - `<?xml version="1.0" encoding="utf-8"?>`, then `<whmcsapi version="8.x.y">` — the version is
 *   empty in an answer holding `<result>error</result>` — then the elements, one per line, then
 *   `</whmcsapi>` (no final new line). The first element is `<action>`: the command as WHMCS
 *   normalises it (lower case, letters and digits only).
 * - A key with a text value is `<key>value</key>`. A value holding `&`, `<`, `>` or `"` is wrapped
 *   whole in CDATA instead of escaped; booleans are PHP's `1` and empty, null is empty.
 * - An empty array writes nothing. A list is its parent key repeated, once per member (`clients
 *   → client → [a, b]` is `<clients><client>a</client><client>b</client></clients>`). A map under
 *   a key already opened is not opened again: its members are written inside the parent's element
 *   with the parent's name, so map keys one level down (GetProducts' `pricing → EUR`) are not
 *   written — the walk below follows WHMCS's, branch for branch, for that reason.
 *
 * Where WHMCS writes XML that does not parse, the panel keeps to well-formed XML (said in the
 * doc): a value already holding `<![CDATA[` or `]]>` is split over CDATA sections, characters XML
 * 1.0 forbids become U+FFFD, and an element name XML cannot take is a programming error.
 */

type Node = unknown;
type Container = Record<string, unknown> | unknown[];

/** The WHMCS release whose answers the reference panel follows (the `version` attribute). */
export const WHMCS_VERSION = '8.13.1';

const isContainer = (v: Node): v is Container => typeof v === 'object' && v !== null;
const entriesOf = (v: Container): Array<[string, unknown]> =>
  Array.isArray(v) ? v.map((x, i) => [String(i), x] as [string, unknown]) : Object.entries(v);

/** PHP's is_numeric on an array key: integers, decimals and exponents, surrounding white space. */
export function phpIsNumeric(key: string): boolean {
  return /^[ \t\n\r\v\f]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?[ \t\n\r\v\f]*$/.test(key);
}

/** The action as WHMCS names it in its answers: lower case, anything but letters and digits removed. */
export function normaliseAction(action: string): string {
  return action.toLowerCase().replace(/[^0-9a-z]/g, '');
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const name = (n: string): string => {
  if (!NAME.test(n)) throw new Error(`not an XML element name: ${JSON.stringify(n.slice(0, 40))}`);
  return n;
};

/** A scalar as PHP's string concatenation gives it. */
function phpString(v: Node): string {
  if (v === true) return '1';
  if (v === false || v === null || v === undefined) return '';
  return String(v);
}

// the characters XML 1.0 forbids: controls but tab and new lines, U+FFFE/U+FFFF, lone surrogates
const FORBIDDEN =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** WHMCS's rule: a value htmlspecialchars (ENT_COMPAT) would change goes in CDATA, as it is. */
function text(v: Node): string {
  const s = phpString(v).replace(FORBIDDEN, '\uFFFD');
  if (!/[&<>"]/.test(s)) return s;
  return `<![CDATA[${s.replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;
}

const open = (n: string, inner: string) => `<${name(n)}>\n${inner}</${n}>\n`;

function walk(val: Container, lastk: string, printed: boolean): string {
  let out = '';
  for (const [k, v] of entriesOf(val)) {
    if (!isContainer(v)) {
      const n = name(phpIsNumeric(k) ? lastk : k);
      out += `<${n}>${text(v)}</${n}>\n`;
    } else if (entriesOf(v).length === 0) {
      continue;
    } else if (lastk !== '' && phpIsNumeric(k)) {
      // a list member: opened with the list's name unless the list's element is already open
      out += printed ? walk(v, lastk, false) : open(lastk, walk(v, lastk, true));
    } else if (lastk === '') {
      out += open(k, walk(v, k, true));
    } else {
      // a map inside an element: its own name is not written (see above)
      out += printed ? walk(v, k, false) : open(lastk, walk(v, k, false));
    }
  }
  return out;
}

/** The whole answer: `action` (as sent) goes first, as in WHMCS's answers. */
export function whmcsXml(action: string, envelope: Record<string, unknown>, version = WHMCS_VERSION): string {
  const body = walk({ action: normaliseAction(action), ...envelope }, '', false).trim();
  const v = body.includes('<result>error</result>') ? '' : version;
  return ['<?xml version="1.0" encoding="utf-8"?>', `<whmcsapi version="${v}">`, body, '</whmcsapi>'].join(
    '\n',
  );
}
