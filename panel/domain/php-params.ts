/**
 * Request parameters the way PHP builds $_POST from a form body (parse_str): `x[]` appends,
 * `x[5]` and `x[a][b]` nest, a later value for the same name replaces the earlier one. Both the
 * External API endpoint and the in-process API parse through here, so they see the same values.
 *
 * Difference from PHP: keys that look like integers are ordered ascending (JS object key order),
 * where PHP keeps insertion order. Nothing the commands read depends on that order.
 */
export type PhpValue = string | PhpArray;
export interface PhpArray {
  [key: string]: PhpValue;
}

export const MAX_NESTING = 8;

export const isPhpArray = (v: PhpValue | undefined): v is PhpArray => typeof v === 'object' && v !== null;

function newArray(): PhpArray {
  return Object.create(null) as PhpArray;
}

/** PHP's next index for `x[]`: one past the largest integer key, or 0. */
function nextIndex(arr: PhpArray): string {
  let max = -1;
  for (const k of Object.keys(arr)) if (/^(0|[1-9]\d*)$/.test(k)) max = Math.max(max, Number(k));
  return String(max + 1);
}

/** Splits `a[b][]` into ['a', 'b', ''] as PHP does; an unmatched bracket ends the nesting. */
export function splitKey(name: string): string[] {
  const open = name.indexOf('[');
  if (open <= 0) return [legacyBase(name)];
  const parts = [legacyBase(name.slice(0, open))];
  let rest = name.slice(open);
  while (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) break; // PHP ignores the malformed tail
    parts.push(rest.slice(1, close));
    rest = rest.slice(close + 1);
    if (parts.length > MAX_NESTING) break;
  }
  return parts;
}

// PHP turns spaces and dots of the base name into underscores (a relic of register_globals).
const legacyBase = (base: string): string => base.replace(/^\s+/, '').replace(/[ .]/g, '_');

export function parsePhpPairs(pairs: Iterable<readonly [string, string]>): PhpArray {
  const root = newArray();
  for (const [name, value] of pairs) {
    const path = splitKey(name);
    if (path[0] === '') continue;
    let node = root;
    for (let i = 0; i < path.length; i++) {
      let key = path[i]!;
      if (key === '' && i > 0) key = nextIndex(node);
      if (i === path.length - 1) {
        node[key] = value;
      } else {
        const child = node[key];
        if (isPhpArray(child)) node = child;
        else {
          const fresh = newArray();
          node[key] = fresh;
          node = fresh;
        }
      }
    }
  }
  return root;
}

/** The body of an application/x-www-form-urlencoded request as name/value pairs. */
export function formPairs(body: string): Array<[string, string]> {
  return [...new URLSearchParams(body).entries()];
}
