import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { requirePhp } from '../bridge/support.js';
import { whmcsXml } from '../../panel/domain/whmcs-xml.js';

/** What PHP's SimpleXML reads from a panel XML answer (LIBXML_NOCDATA, as WHMCS clients read it). */
function phpReads(xml: string): Record<string, unknown> {
  const code = `libxml_use_internal_errors(true); $x = simplexml_load_string(stream_get_contents(STDIN), 'SimpleXMLElement', LIBXML_NOCDATA); echo json_encode($x === false ? false : $x);`;
  return JSON.parse(
    execFileSync('php', ['-r', code], { input: xml, encoding: 'utf8', timeout: 20_000 }),
  ) as Record<string, unknown>;
}

/**
 * Where WHMCS's own writer would give XML that does not parse, the panel's stays well-formed and
 * PHP reads back the text that was meant (docs/whmcs.md, "API answers in XML").
 */
describe('WHMCS XML answers: the edges WHMCS gets wrong', () => {
  before(function () {
    requirePhp(this);
  });

  it('a value holding "]]>" or "<![CDATA[" comes back whole', () => {
    const notes = 'see <![CDATA[x]]> & "y"';
    expect(phpReads(whmcsXml('GetInvoice', { result: 'success', notes }))).to.include({ notes });
  });

  it('characters XML 1.0 forbids become U+FFFD instead of breaking the answer', () => {
    expect(phpReads(whmcsXml('GetInvoice', { result: 'success', notes: 'bell\u0007 here' }))).to.include({
      notes: 'bell\uFFFD here',
    });
  });

  it('a key that is no element name is refused as a programming error, never written', () => {
    expect(() => whmcsXml('GetInvoice', { result: 'success', 'a b': '1' })).to.throw(
      /not an XML element name/,
    );
  });
});
