import { expect } from 'chai';
import {
  clientLabel,
  containsPattern,
  startsWithPattern,
  foldForSearch,
  searchTextOf,
  serviceLabel,
} from '../../module/domain/search-text.js';

// What the admin tab's search promises: case, accents and the apostrophe's forms do not matter,
// everything else must match; the expected texts are written out by hand.
describe('search text for the admin tab', () => {
  it('folds case, accents, letters NFKD keeps whole, apostrophes and spaces', () => {
    expect(foldForSearch('Zoë Müller')).to.equal('zoe muller');
    expect(foldForSearch('Straße')).to.equal('strasse');
    expect(foldForSearch('Søren Łukasz')).to.equal('soren lukasz');
    expect(foldForSearch('Æsir Œuvre')).to.equal('aesir oeuvre');
    expect(foldForSearch('Đorđe Ðe Þór')).to.equal('dorde de thor');
    expect(foldForSearch('ıb')).to.equal('ib');
    // a ligature is taken apart (compatibility decomposition)
    expect(foldForSearch('ﬁle')).to.equal('file');
    // ‘ ’ ‛ ʼ ʹ ` ´ ′ are all the typed '
    // the acute accent ´ (U+00B4) too: NFKD turns it into a space and a combining accent, so folded
    // after normalising it read "o brien" and the typed "o'brien" did not find O´Brien
    expect(foldForSearch('Siobhán O\u00B4Brien')).to.equal("siobhan o'brien");
    for (const a of ['\u2018', '\u2019', '\u201B', '\u02BC', '\u02B9', '`', '\u00B4', '\u2032', "'"])
      expect(foldForSearch(`O${a}Brien`), a).to.equal("o'brien");
    expect(foldForSearch('  Jan\t de   Vries \n')).to.equal('jan de vries');
  });

  it("joins a service's pieces so a search cannot match across two, leaving out empty ones", () => {
    expect(searchTextOf(['Ann Smith', '', 'VPS 5 TB', '  ', 'vps1.Example.net'])).to.equal(
      'ann smith | vps 5 tb | vps1.example.net',
    );
    expect(searchTextOf([])).to.equal('');
  });

  it('takes % _ and ! literally in a LIKE pattern', () => {
    expect(containsPattern("o'brien")).to.equal("%o'brien%");
    expect(containsPattern('50%_off!')).to.equal('%50!%!_off!!%');
    // a pool named "eu_1" must not match "eu-1": the _ is escaped, only the end is open
    expect(startsWithPattern('eu_1')).to.equal('eu!_1%');
  });

  it('names a client by name and company, or whichever there is', () => {
    expect(clientLabel({ firstName: 'Ann', lastName: 'Smith', companyName: 'Smith BV' })).to.equal(
      'Ann Smith (Smith BV)',
    );
    expect(clientLabel({ firstName: '', lastName: 'Smith', companyName: ' ' })).to.equal('Smith');
    expect(clientLabel({ firstName: ' ', lastName: '', companyName: ' Smith BV ' })).to.equal('Smith BV');
    expect(clientLabel({ firstName: '', lastName: '', companyName: '' })).to.equal('');
  });

  it('names a service by host and product, or whichever there is', () => {
    expect(serviceLabel({ domain: 'vps1.example.net', name: 'VPS 5 TB' })).to.equal(
      'vps1.example.net · VPS 5 TB',
    );
    expect(serviceLabel({ domain: ' vps1.example.net ', name: '' })).to.equal('vps1.example.net');
    expect(serviceLabel({ domain: '  ', name: 'VPS 5 TB' })).to.equal('VPS 5 TB');
  });
});
