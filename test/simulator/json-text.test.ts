import { expect } from 'chai';
import { toJsonText } from '../../simulator/json-text.js';

describe('simulator JSON text', () => {
  it('writes bigints as plain numbers digit for digit, and everything else as JSON.stringify would', () => {
    const value = {
      big: 9007199254740993n,
      neg: -12n,
      n: 1.5,
      inf: Infinity,
      nan: NaN,
      t: true,
      f: false,
      nil: null,
      skipped: undefined,
      s: 'a"b\\c\n\u0001é',
      'k"ey': 1,
      list: [1n, 'x', null, undefined, [], {}, { a: undefined }],
      nested: { a: { b: [{ c: 2n }] } },
    };
    expect(toJsonText(value)).to.equal(
      '{"big":9007199254740993,"neg":-12,"n":1.5,"inf":null,"nan":null,"t":true,"f":false,"nil":null,' +
        '"s":"a\\"b\\\\c\\n\\u0001é","k\\"ey":1,"list":[1,"x",null,null,[],{},{}],"nested":{"a":{"b":[{"c":2}]}}}',
    );
    expect(toJsonText({ a: undefined, b: 1 })).to.equal('{"b":1}');
    expect(toJsonText(7n)).to.equal('7');
    expect(toJsonText(undefined)).to.equal('null');
  });

  it('leaves a hole of a sparse array empty, as Array.join does', () => {
    expect(toJsonText([1, , 2])).to.equal('[1,,2]');
  });
});
