import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { base64PhpSerialize, phpSerialize } from '../../module/adapters/panel-api.js';
import { decodeSerializedMap, phpUnserialize } from '../../panel/domain/php-serialize.js';
import { requirePhp } from '../bridge/support.js';

/*
 * The add-on writes PHP serialize() for SendEmail customvars and UpdateClientProduct customfields,
 * and the reference panel reads what WHMCS's own scripts send; both against real php-cli, so the
 * hand-written code answers to PHP itself, not to a copy of our own understanding. Kept by hand
 * rather than the php-serialize package: the reader must refuse objects (`O:`, `C:`), which is how
 * PHP unserialize bugs are reached, and the writer is 20 lines.
 */
function php(code: string, stdin = ''): string {
  const r = spawnSync('php', ['-r', code], { input: stdin, encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`php failed: ${r.stderr}`);
  return r.stdout;
}

describe('PHP serialize, against php-cli', function () {
  this.timeout(30_000);
  beforeEach(function () {
    requirePhp(this);
  });

  it("writes exactly what PHP's serialize() writes for an array of strings, integers and a nested array", () => {
    // strlen counts bytes: "héllo" is 6 bytes in UTF-8, "€" 3
    const value = { custommerge: 'héllo', 3: 'x', price: '€1.50', nested: { a: '1', b: 2 }, empty: '' };
    const phpSide = php(
      'echo serialize(["3" => "x", "custommerge" => "héllo", "price" => "€1.50", "nested" => ["a" => "1", "b" => 2], "empty" => ""]);',
    );
    expect(phpSerialize(value)).to.equal(phpSide);
    expect(phpSide).to.include('s:11:"custommerge";s:6:"héllo";');
  });

  it('is read back by PHP unserialize(base64_decode(…)) into the same array', () => {
    const value = { 12: 'on', 13: 'a "quoted" value; with } braces', nl: 'één' };
    const out = php(
      'echo json_encode(unserialize(base64_decode(trim(stream_get_contents(STDIN)))), JSON_UNESCAPED_UNICODE);',
      base64PhpSerialize(value),
    );
    expect(JSON.parse(out)).to.deep.equal({ 12: 'on', 13: 'a "quoted" value; with } braces', nl: 'één' });
  });

  it("reads what WHMCS's scripts send: base64_encode(serialize([fieldid => value])) from php-cli", () => {
    const sent = php(
      'echo base64_encode(serialize([7 => "ns1.example.net", 8 => "1024", 9 => "ünïcode", 10 => true, 11 => null]));',
    );
    // integers and booleans become their text as PHP's (string) cast gives it: true → "1", null → ""
    expect(decodeSerializedMap(sent.trim())).to.deep.equal({
      7: 'ns1.example.net',
      8: '1024',
      9: 'ünïcode',
      10: '1',
      11: '',
    });
  });

  it('refuses a serialized object, as PHP would instantiate it', () => {
    const obj = php('$o = new stdClass; $o->a = 1; echo serialize($o);');
    expect(obj.startsWith('O:8:"stdClass"')).to.equal(true);
    expect(() => phpUnserialize(obj)).to.throw(SyntaxError);
    expect(decodeSerializedMap(Buffer.from(obj).toString('base64'))).to.equal(null);
  });
});
