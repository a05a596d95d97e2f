import { expect } from 'chai';
import { parse as parseLosslessJson } from 'lossless-json';
import { parseJsonNumbersAsText } from '../../module/adapters/exact-json.js';

const lossless = (text: string): unknown => parseLosslessJson(text, null, (n: string) => n);

/** The same value or the same refusal as lossless-json with numbers kept as their text. */
function same(text: string): void {
  let want: unknown;
  let wantError = false;
  try {
    want = lossless(text);
  } catch {
    wantError = true;
  }
  if (wantError) {
    expect(() => parseJsonNumbersAsText(text), text).to.throw();
    return;
  }
  const got = parseJsonNumbersAsText(text);
  expect(got, text).to.deep.equal(want);
  // the same own keys in the same order, __proto__ included, and no prototype changed
  const shape = (v: unknown): unknown =>
    v !== null && typeof v === 'object'
      ? Array.isArray(v)
        ? v.map(shape)
        : [Object.getPrototypeOf(v) === Object.prototype, Object.keys(v), Object.values(v).map(shape)]
      : [typeof v, v];
  expect(shape(got), text).to.deep.equal(shape(want));
}

describe('JSON with numbers as their text', () => {
  it('keeps every number as its source text, exact past 2^53', () => {
    const v = parseJsonNumbersAsText('{"a":9007199254740993,"b":-12,"c":0,"d":1.5,"e":[1,2e3,1.0,-0]}');
    expect(v).to.deep.equal({
      a: '9007199254740993',
      b: '-12',
      c: '0',
      d: '1.5',
      e: ['1', '2e3', '1.0', '-0'],
    });
  });

  it('answers as lossless-json does, value for value and refusal for refusal', () => {
    for (const text of [
      '{}',
      '[]',
      '5',
      '-0',
      '"x"',
      'true',
      'null',
      ' {"a" : 1 , "b":[ ] }\n',
      '{"a":123456789012345}',
      '{"a":1234567890123456}',
      '{"a":12345678901234567890}',
      '{"a":-9007199254740993}',
      '{"a":0.1,"b":1e-7,"c":1E+21,"d":100,"e":1e2,"f":0.30000000000000004,"g":5e-324}',
      '{"a":"1","a":"1"}',
      '{"a":"1","a":"2"}',
      '{"a":{"b":1},"a":{"b":1}}',
      '{"a":{"b":1},"a":{"b":2}}',
      '{"x":{"a":1,"a":1}}',
      '{"__proto__":{"polluted":1},"b":2}',
      '{"__proto__":7}',
      '{"k\\"ey":"v\\\\","q":"\\"","r":"a\\\\\\"b:","s":"\\u00e9\\n\\t\\/","t":"12:34"}',
      '{"str":"1e5 -0 01 {\\"a\\":1}"}',
      '{"a":"b":1}',
      '{"a":01}',
      '{"a":1,}',
      '[1,2,]',
      '{"a":"\u0001"}',
      '{"a":.5}',
      '{"a":1.}',
      '{"a":-}',
      '{"a":tru}',
      '',
      '\uFEFF{}',
      '{"a":1} x',
      '{"a":1}{"b":2}',
      '{"1":"x","0":"y","b":3}',
      '[{"a":[{"b":[1,{"c":-2.50}]}]}]',
    ])
      same(text);
  });

  it('answers as lossless-json does on 2 000 random documents', () => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const numbers = [
      '0',
      '-1',
      '42',
      '1.5',
      '1.50',
      '1e3',
      '9007199254740993',
      '-0',
      '0.1',
      '123456789012345',
    ];
    const strings = [
      '"a"',
      '"a"',
      '"b"',
      '"c:"',
      '"\\"x"',
      '"\\\\"',
      '"1,2"',
      '""',
      '"__proto__"',
      '"\\u0041"',
    ];
    const value = (depth: number): string => {
      const k = rnd(depth > 3 ? 4 : 7);
      if (k === 0) return numbers[rnd(numbers.length)]!;
      if (k === 1) return strings[rnd(strings.length)]!;
      if (k === 2) return ['true', 'false', 'null'][rnd(3)]!;
      if (k === 3) return numbers[rnd(numbers.length)]!;
      if (k === 4) return `[${Array.from({ length: rnd(4) }, () => value(depth + 1)).join(', ')}]`;
      return `{${Array.from({ length: rnd(5) }, () => `${strings[rnd(strings.length)]} :${value(depth + 1)}`).join(',')}}`;
    };
    for (let i = 0; i < 2000; i++) same(value(0));
  });
});
