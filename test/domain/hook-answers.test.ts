import { expect } from 'chai';
import { combineAnswers, hookStyle, isEmptyAnswer } from '../../module/domain/hook-answers.js';

// WHMCS's answer rules (docs/whmcs.md, "Hook answers"), each case written out by hand.
describe('hook answers combined as WHMCS combines them', () => {
  it('merges key/values with the later handler winning, keeps an abort once answered true, and concatenates attachments', () => {
    const c = combineAnswers('merge', [
      { abortsend: true, subject: 'first', attachments: ['a.pdf'] },
      null,
      { abortsend: false, subject: 'second', attachments: ['b.csv'] },
      {},
    ]);
    expect(c).to.deep.equal({
      merged: { abortsend: true, subject: 'second', attachments: ['a.pdf', 'b.csv'] },
      aborted: true,
      anyTrue: false,
      html: '',
    });
  });

  it("takes PHP's true values for an abort ('1', 1, 'on', 'true') and a false one as no abort", () => {
    for (const v of ['1', 1, 'on', 'true'])
      expect(combineAnswers('merge', [{ abortcmd: v }]).aborted, String(v)).to.equal(true);
    expect(combineAnswers('merge', [{ abortcmd: '0' }])).to.deep.include({
      merged: { abortcmd: false },
      aborted: false,
    });
  });

  it('concatenates HTML in run order, counts any true answer, and gives nothing for ignored points', () => {
    expect(combineAnswers('html', ['<p>a</p>', '', '<p>b</p>']).html).to.equal('<p>a</p><p>b</p>');
    expect(combineAnswers('any_true', [false, true]).anyTrue).to.equal(true);
    expect(combineAnswers('any_true', ['1']).anyTrue).to.equal(false);
    expect(combineAnswers('ignored', [{ abortsend: true }, '<p>x</p>', true])).to.deep.equal({
      merged: {},
      aborted: false,
      anyTrue: false,
      html: '',
    });
  });

  it('knows the style of the points the add-on answers, and ignores points it does not list', () => {
    expect(
      [
        'EmailPreSend',
        'PreModuleSuspend',
        'ClientAreaProductDetailsOutput',
        'ClientAreaHomepagePanels',
        'DailyCronJobPreEmail',
        'InvoiceCreation',
        'AddInvoiceLateFee',
      ].map(hookStyle),
    ).to.deep.equal(['merge', 'merge', 'html', 'menu', 'any_true', 'ignored', 'ignored']);
  });

  it("counts as no answer what a PHP handler returning nothing, false, '' or an empty array gives, and nothing else", () => {
    // the panel's dispatcher records these as 'no_answer' (panel/hooks.ts)
    for (const v of [undefined, null, false, '', [], {}])
      expect(isEmptyAnswer(v), JSON.stringify(v) ?? 'undefined').to.equal(true);
    for (const v of [0, '0', 'x', true, ['a.pdf'], { abortsend: false }])
      expect(isEmptyAnswer(v), JSON.stringify(v)).to.equal(false);
  });

  it('takes an abort of true as an abort and one of false as none', () => {
    expect(combineAnswers('merge', [{ abortsend: true }])).to.deep.include({
      merged: { abortsend: true },
      aborted: true,
    });
    expect(combineAnswers('merge', [{ abortsend: false }])).to.deep.include({
      merged: { abortsend: false },
      aborted: false,
    });
  });

  it('merges only key/value answers, concatenates only attachments, and takes only strings as HTML', () => {
    // a handler of a merge point answering a string or true: nothing to merge (PHP's array_merge would refuse it)
    expect(combineAnswers('merge', ['abc', true, [['x']]])).to.deep.equal({
      merged: {},
      aborted: false,
      anyTrue: false,
      html: '',
    });
    // another list-valued key is a plain value: the later handler's wins
    expect(
      combineAnswers('merge', [{ cc: ['a@example.com'] }, { cc: ['b@example.com'] }]).merged,
    ).to.deep.equal({ cc: ['b@example.com'] });
    // an HTML point ignores answers that are not strings
    expect(combineAnswers('html', ['<p>a</p>', { html: '<p>b</p>' }, ['<p>c</p>'], true]).html).to.equal(
      '<p>a</p>',
    );
  });
});
