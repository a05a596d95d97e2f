import { expect } from 'chai';
import { counterNotes } from '../../module/web/present-usage.js';
import { wordsFor } from '../../module/web/words.js';

// What the client's widget says of a reset SolusVM did not do, by how it ended (the details
// metering writes: endedBy, endedOn). Pure: no store, no engine.
const note = (status: string, details: Record<string, string>) => ({
  kind: 'reset_not_seen',
  status,
  decision: null,
  seenOn: '2014-10-21',
  details: { expectedOn: '2014-10-20', ...details },
});
const notes = (lang: 'en' | 'nl', status: string, details: Record<string, string>) =>
  counterNotes(
    [note(status, details)],
    'TB',
    lang === 'en' ? 'en-GB' : 'nl-NL',
    'Europe/Brussels',
    wordsFor(lang),
  );

describe('the widget: a reset SolusVM did not do', () => {
  it('still due, come later, or ended by a drop that is checked (not "the reset came later")', () => {
    expect(notes('en', 'open', {})).to.deep.equal([
      'SolusVM did not reset the counter on 20 October 2014. We go on counting from where it stood, so no traffic is counted twice, and this period still ends on its usual day.',
    ]);
    expect(notes('en', 'resolved', { endedBy: 'late_reset', endedOn: '2014-10-23' })).to.deep.equal([
      'SolusVM did not reset the counter on 20 October 2014; the reset came later. No traffic was counted twice.',
    ]);
    // the 20 October reset was due; on 23 October the counter went down by more than a fresh
    // counter could explain: a drop an admin decides, which ends the reset that was due
    expect(notes('en', 'resolved', { endedBy: 'drop', endedOn: '2014-10-23' })).to.deep.equal([
      'SolusVM did not reset the counter on 20 October 2014. On 23 October 2014 the counter went down: that reset or a correction on the server, which we check before anything is billed for it. No traffic is counted twice.',
    ]);
    expect(notes('nl', 'resolved', { endedBy: 'drop', endedOn: '2014-10-23' })).to.deep.equal([
      'SolusVM heeft de teller op 20 oktober 2014 niet teruggezet. Op 23 oktober 2014 ging de teller omlaag: die reset of een correctie op de server, wat wij nakijken voordat er iets voor wordt gefactureerd. Geen verkeer wordt dubbel geteld.',
    ]);
  });
});
