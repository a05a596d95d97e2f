/**
 * A strict reader of PHP serialize() output for the parameters WHMCS takes as
 * base64_encode(serialize(array)). Only arrays, strings, integers, floats (kept as their text),
 * booleans and null: objects (`O:`) are refused, as accepting them is how PHP unserialize bugs
 * are exploited. Throws on anything malformed.
 */
export type PhpScalar = string | null;
export type PhpUnserialized = PhpScalar | { [key: string]: PhpUnserialized };

const MAX_DEPTH = 8;

export function phpUnserialize(input: string): PhpUnserialized {
  const buf = Buffer.from(input, 'utf8');
  let pos = 0;
  const fail = (why: string): never => {
    throw new SyntaxError(`not PHP serialized data: ${why} at byte ${pos}`);
  };
  const expect = (ch: string) => {
    if (String.fromCharCode(buf[pos] ?? 0) !== ch) fail(`expected "${ch}"`);
    pos++;
  };
  const readUntil = (ch: string): string => {
    const end = buf.indexOf(ch, pos);
    if (end < 0) fail(`missing "${ch}"`);
    const s = buf.subarray(pos, end).toString('utf8');
    pos = end + 1;
    return s;
  };
  const value = (depth: number): PhpUnserialized => {
    const type = String.fromCharCode(buf[pos] ?? 0);
    pos++;
    switch (type) {
      case 'N':
        expect(';');
        return null;
      case 'b': {
        expect(':');
        const v = readUntil(';');
        if (v !== '0' && v !== '1') fail('bad boolean');
        return v === '1' ? '1' : '';
      }
      case 'i': {
        expect(':');
        const v = readUntil(';');
        if (!/^-?\d+$/.test(v)) fail('bad integer');
        return v;
      }
      case 'd': {
        expect(':');
        const v = readUntil(';');
        if (!/^-?\d+(\.\d+)?(E[+-]?\d+)?$/i.test(v)) fail('bad float');
        return v;
      }
      case 's': {
        expect(':');
        const len = readUntil(':');
        if (!/^\d+$/.test(len)) fail('bad string length');
        expect('"');
        const n = Number(len);
        if (pos + n > buf.length) fail('string runs past the end');
        const s = buf.subarray(pos, pos + n).toString('utf8');
        pos += n;
        expect('"');
        expect(';');
        return s;
      }
      case 'a': {
        if (depth >= MAX_DEPTH) fail('nested too deeply');
        expect(':');
        const count = readUntil(':');
        if (!/^\d+$/.test(count)) fail('bad array size');
        expect('{');
        const out: { [key: string]: PhpUnserialized } = Object.create(null);
        for (let i = 0; i < Number(count); i++) {
          const k = value(depth + 1);
          if (typeof k !== 'string') fail('array keys must be strings or integers');
          out[k as string] = value(depth + 1);
        }
        expect('}');
        return out;
      }
      default:
        return fail(`unsupported type "${type}"`);
    }
  };
  const result = value(0);
  if (pos !== buf.length) fail('trailing data');
  return result;
}

/** base64 → unserialize → a flat map of strings; null when any step fails or it is not an array. */
export function decodeSerializedMap(base64: string): Record<string, string> | null {
  const trimmed = base64.trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(trimmed) || trimmed.length % 4 !== 0) return null;
  try {
    const v = phpUnserialize(Buffer.from(trimmed, 'base64').toString('utf8'));
    if (v === null || typeof v !== 'object') return null;
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v)) {
      if (x !== null && typeof x === 'object') return null;
      out[k] = x ?? '';
    }
    return out;
  } catch {
    return null;
  }
}
