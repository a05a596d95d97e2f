import { expect } from 'chai';
import { combineAnswers, hookStyle } from '../../module/domain/hook-answers.js';

// WHMCS's answer rules (docs/whmcs.md, "Hook answers"), each case written out by hand.
describe("hook answers combined as WHMCS combines them", () => {
  it('merges key/values with the later handler winning, keeps an abort once answered true, and concatenates attachments', () => {
    const c = combineAnswers('merge', [
      { abortsend: true, subject: 'first', attachments: ['a.pdf'] },
      null,
      { abortsend: false, subject: 'second', attachments: ['b.csv'] },
      {},
    ]);
    expect(c).to.deep.equal({ merged: { abortsend: true, subject: 'second', attachments: ['a.pdf', 'b.csv'] }, aborted: true, anyTrue: false, html: '' });
  });

  it("takes PHP's true values for an abort ('1', 1, 'on', 'true') and a false one as no abort", () => {
    for (const v of ['1', 1, 'on', 'true']) expect(combineAnswers('merge', [{ abortcmd: v }]).aborted, String(v)).to.equal(true);
    expect(combineAnswers('merge', [{ abortcmd: '0' }])).to.deep.include({ merged: { abortcmd: false }, aborted: false });
  });

  it('concatenates HTML in run order, counts any true answer, and gives nothing for ignored points', () => {
    expect(combineAnswers('html', ['<p>a</p>', '', '<p>b</p>']).html).to.equal('<p>a</p><p>b</p>');
    expect(combineAnswers('any_true', [false, true]).anyTrue).to.equal(true);
    expect(combineAnswers('any_true', ['1']).anyTrue).to.equal(false);
    expect(combineAnswers('ignored', [{ abortsend: true }, '<p>x</p>', true])).to.deep.equal({ merged: {}, aborted: false, anyTrue: false, html: '' });
  });

  it('knows the style of the points the add-on answers, and ignores points it does not list', () => {
    expect(['EmailPreSend', 'PreModuleSuspend', 'ClientAreaProductDetailsOutput', 'ClientAreaHomepagePanels', 'DailyCronJobPreEmail', 'InvoiceCreation', 'AddInvoiceLateFee'].map(hookStyle)).to.deep.equal([
      'merge',
      'merge',
      'html',
      'menu',
      'any_true',
      'ignored',
      'ignored',
    ]);
  });
});
