import { expect } from 'chai';
import { INVOICE_NOTES, withLineNote } from '../../module/domain/dispute-text.js';

// An invoice's notes as a disputed line's story moves on: its paragraph put in, replaced, or taken
// out, the provider's own notes left as they were.
describe("a disputed line's paragraph in an invoice's notes", () => {
  const onHold = INVOICE_NOTES.en.onHold('OU-7', '€500.00');
  it('is added after the provider’s notes, without blank lines in between', () => {
    expect(withLineNote('Thank you for your business.\n\n', 'OU-7', onHold)).to.equal(
      'Thank you for your business.\nOverusage line [OU-7] (€500.00) is on hold while your dispute is decided: it is not part of this invoice.',
    );
    expect(withLineNote('', 'OU-7', 'Overusage line [OU-7]: upheld.')).to.equal('Overusage line [OU-7]: upheld.');
  });

  it("replaces the line's earlier paragraph and leaves another line's alone", () => {
    const notes = `Pay by bank transfer.\n${onHold}\nOverusage line [OU-8]: waived.`;
    expect(withLineNote(notes, 'OU-7', 'Overusage line [OU-7]: upheld after your dispute (€500.00).')).to.equal(
      'Pay by bank transfer.\nOverusage line [OU-8]: waived.\nOverusage line [OU-7]: upheld after your dispute (€500.00).',
    );
    // no paragraph: the line's is taken out
    expect(withLineNote(notes, 'OU-7', null)).to.equal('Pay by bank transfer.\nOverusage line [OU-8]: waived.');
  });
});
