/**
 * JSON with every number kept as its source text (exact beyond 2^53), as lossless-json's parse
 * with a number parser that returns the text gives it, but through V8's JSON.parse where that
 * gives the same answer: lossless-json builds each string a character at a time, which cost more
 * than anything else in a metering read. The native answer is taken only when every number in the
 * text reads back as its own text (no 1.0, 1e3, -0 or digits past 2^53) and no key was repeated in
 * an object (lossless-json refuses a repeated key with another value; JSON.parse keeps the last);
 * any other text, valid or not, goes to lossless-json itself, so the result and the errors are its.
 */
import { parse as parseLosslessJson } from 'lossless-json';

const lossless = (text: string): unknown => parseLosslessJson(text, null, (n: string) => n);

export function parseJsonNumbersAsText(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return lossless(text);
  }
  const keys = scan(text);
  if (keys < 0) return lossless(text);
  const seen = { keys: 0 };
  const out = numbersAsText(value, seen);
  return seen.keys === keys ? out : lossless(text);
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * Over text JSON.parse accepted: the keys it holds (strings followed by a colon), or -1 when a
 * number would not read back as its own text.
 */
function scan(text: string): number {
  let keys = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // the closing quote: the next one not escaped by an odd run of backslashes
      let j = text.indexOf('"', i + 1);
      for (;;) {
        let b = j - 1;
        while (text.charCodeAt(b) === 0x5c) b--;
        if ((j - 1 - b) % 2 === 0) break;
        j = text.indexOf('"', j + 1);
      }
      i = j + 1;
      while (i < n && isSpace(text.charCodeAt(i))) i++;
      if (text.charCodeAt(i) === 0x3a) keys++;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      let plain = true; // digits only
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (d >= 0x30 && d <= 0x39) continue;
        if (d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) plain = false;
        else break;
      }
      const digits = j - i - (c === 0x2d ? 1 : 0);
      // whole, at most 15 digits, no leading zero, not -0: its own text without a comparison
      const zero = text.charCodeAt(j - digits) === 0x30;
      const simple = plain && digits <= 15 && (!zero || (digits === 1 && c !== 0x2d));
      if (!simple) {
        const t = text.slice(i, j);
        if (String(Number(t)) !== t) return -1;
      }
      i = j;
    } else i++;
  }
  return keys;
}

/** Numbers replaced by their text, in place; counts the keys of every object. */
function numbersAsText(v: unknown, seen: { keys: number }): unknown {
  if (typeof v === 'number') return String(v);
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x === 'number') v[i] = String(x);
      else if (x !== null && typeof x === 'object') numbersAsText(x, seen);
    }
    return v;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  seen.keys += keys.length;
  for (const k of keys) {
    const x = o[k];
    if (typeof x === 'number') {
      // an own "__proto__" is a plain property here, as JSON.parse made it: not the setter
      if (k === '__proto__')
        Object.defineProperty(o, k, {
          value: String(x),
          writable: true,
          enumerable: true,
          configurable: true,
        });
      else o[k] = String(x);
    } else if (x !== null && typeof x === 'object') numbersAsText(x, seen);
  }
  return o;
}
