import { expect } from 'chai';
import {
  advanceDueDate,
  parseBillingCycle,
  periodEnd,
  isRecurring,
} from '../../panel/domain/billing-cycle.js';
import {
  invoiceGenerationDue,
  lateFeeDue,
  lateFeeRuleOf,
  noticesDueOn,
  suspensionVerdict,
  whmcsLateFee,
  type DunningSettings,
} from '../../panel/domain/dunning-schedule.js';
import { lateFeeOn } from '../../module/domain/dunning.js';
import { invoiceTotals } from '../../panel/domain/invoice-totals.js';
import { renderMergeFields } from '../../panel/domain/merge-fields.js';
import {
  formatDecimal,
  mulDivHalfUp,
  decimalAsStored,
  decimalAtScaleExact,
  percentOf,
} from '../../panel/domain/money.js';
import { parsePhpPairs, formPairs, splitKey } from '../../panel/domain/php-params.js';
import { decodeSerializedMap, phpUnserialize } from '../../panel/domain/php-serialize.js';
import { base64PhpSerialize, phpSerialize, toFormPairs } from '../../module/adapters/panel-api.js';

const SETTINGS: DunningSettings = {
  invoiceDaysBefore: 7,
  continuousInvoicing: false,
  sendReminders: true,
  reminderDaysBefore: 3,
  overdueDays: [1, 3, 5],
  lateFeeDays: 5,
  lateFeeType: 'Percentage',
  lateFeeAmountScaled: 1000n, // 10.00 %
  lateFeeMinimumMinor: 500n,
  taxLateFee: false,
  autoSuspend: true,
  suspendDays: 7,
  autoUnsuspend: true,
};

describe('panel money', () => {
  it('parses decimals exactly and rounds extra digits half away from zero, as a DECIMAL column does', () => {
    expect(decimalAsStored('15.95', 2)).to.equal(1595n);
    expect(decimalAsStored('15', 2)).to.equal(1500n);
    expect(decimalAsStored('.5', 2)).to.equal(50n);
    expect(decimalAsStored('-0.75', 2)).to.equal(-75n);
    expect(decimalAsStored('1.005', 2)).to.equal(101n);
    expect(decimalAsStored('-1.005', 2)).to.equal(-101n);
    expect(decimalAsStored('1.004', 2)).to.equal(100n);
  });

  it('refuses what is not a plain decimal', () => {
    for (const bad of ['', 'abc', '1e3', '1,5', '1.2.3', '--1', '.', ' ', '0x10', 'NaN', 'Infinity'])
      expect(decimalAsStored(bad, 2), bad).to.equal(null);
    expect(decimalAsStored('123456789012345', 2, 14)).to.equal(null);
    expect(decimalAtScaleExact('1.005', 2)).to.equal(null);
    expect(decimalAtScaleExact('1.500', 2)).to.equal(150n);
  });

  it('formats minor units back to the canonical decimal', () => {
    expect(formatDecimal(1595n, 2)).to.equal('15.95');
    expect(formatDecimal(-5n, 2)).to.equal('-0.05');
    expect(formatDecimal(0n, 2)).to.equal('0.00');
    expect(formatDecimal(21000n, 3)).to.equal('21.000');
  });

  it('rounds a percentage once, half-up', () => {
    expect(percentOf(1995n, 21000n, 3)).to.equal(419n); // 4.1895 → 4.19
    expect(percentOf(250n, 10000n, 3)).to.equal(25n);
    expect(mulDivHalfUp(5n, 1n, 2n)).to.equal(3n);
    expect(mulDivHalfUp(-5n, 1n, 2n)).to.equal(-3n);
    expect(mulDivHalfUp(7n, 1n, 3n)).to.equal(2n);
  });
});

describe('billing cycles', () => {
  it('accepts WHMCS spellings', () => {
    expect(parseBillingCycle('monthly')).to.equal('Monthly');
    expect(parseBillingCycle('One-Time')).to.equal('One Time');
    expect(parseBillingCycle('Semi-Annually')).to.equal('Semi-Annually');
    expect(parseBillingCycle('weekly')).to.equal(null);
    expect(isRecurring('Free Account')).to.equal(false);
  });

  it('keeps the registration day across short months instead of drifting to the 28th', () => {
    let d = '2025-01-31';
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) seen.push((d = advanceDueDate(d, 'Monthly', 31)));
    expect(seen).to.deep.equal(['2025-02-28', '2025-03-31', '2025-04-30']);
    expect(advanceDueDate('2024-02-29', 'Annually', 29)).to.equal('2025-02-28');
    expect(advanceDueDate('2025-01-15', 'Quarterly')).to.equal('2025-04-15');
    expect(periodEnd('2025-02-01', 'Monthly', 1)).to.equal('2025-02-28');
  });
});

describe('dunning schedule', () => {
  it('sends the reminder and each overdue notice on its exact day only', () => {
    const due = '2025-03-01';
    const on = (today: string) => noticesDueOn(today, due, SETTINGS);
    expect(on('2025-02-25')).to.deep.equal([]);
    expect(on('2025-02-26')).to.deep.equal(['reminder']);
    expect(on('2025-03-01')).to.deep.equal([]);
    expect(on('2025-03-02')).to.deep.equal(['firstoverdue']);
    expect(on('2025-03-04')).to.deep.equal(['secondoverdue']);
    expect(on('2025-03-06')).to.deep.equal(['thirdoverdue']);
    expect(on('2025-03-07')).to.deep.equal([]);
  });

  it('sends nothing when reminders are off or a step is 0', () => {
    expect(noticesDueOn('2025-02-26', '2025-03-01', { ...SETTINGS, sendReminders: false })).to.deep.equal([]);
    expect(noticesDueOn('2025-03-02', '2025-03-01', { ...SETTINGS, overdueDays: [0, 3, 5] })).to.deep.equal(
      [],
    );
  });

  it('charges the late fee from its day on, a percentage with a minimum or a fixed amount', () => {
    // invoiced 15 February, due 1 March, AddLateFeeDays 5: from 6 March on (WHMCS: duedate <= today − 5)
    const inv = { duedate: '2025-03-01', date: '2025-02-15' };
    expect(lateFeeDue('2025-03-05', inv, SETTINGS)).to.equal(false);
    expect(lateFeeDue('2025-03-06', inv, SETTINGS)).to.equal(true);
    expect(lateFeeDue('2025-03-09', inv, SETTINGS)).to.equal(true);
    // AddLateFeeDays 0 (or empty, read as 0): from the due date itself on, not the day before
    // (it was "never" before WHMCS's rule was followed: the decoded AddLateFees has no such switch)
    expect(lateFeeDue('2025-02-28', inv, { ...SETTINGS, lateFeeDays: 0 })).to.equal(false);
    expect(lateFeeDue('2025-03-01', inv, { ...SETTINGS, lateFeeDays: 0 })).to.equal(true);
    expect(lateFeeDue('2025-03-09', inv, { ...SETTINGS, lateFeeDays: 0 })).to.equal(true);
    // due on its invoice date (WHMCS: duedate != date): never, however late; nor without a date
    const sameDay = { duedate: '2025-03-01', date: '2025-03-01' };
    expect(lateFeeDue('2025-03-09', sameDay, SETTINGS)).to.equal(false);
    expect(lateFeeDue('2025-03-01', sameDay, { ...SETTINGS, lateFeeDays: 0 })).to.equal(false);
    expect(lateFeeDue('2025-03-09', { ...inv, date: null }, SETTINGS)).to.equal(false);
    // the one formula (module/domain/dunning.ts lateFeeOn) on the settings' rule
    expect(lateFeeOn(1995n, lateFeeRuleOf(SETTINGS))).to.equal(500n); // 10 % = 2.00, minimum 5.00
    expect(lateFeeOn(10005n, lateFeeRuleOf(SETTINGS))).to.equal(1001n); // 10.005 → 10.01
    expect(
      lateFeeOn(
        1995n,
        lateFeeRuleOf({ ...SETTINGS, lateFeeType: 'Fixed Amount', lateFeeAmountScaled: 750n }),
      ),
    ).to.equal(750n);
    expect(
      lateFeeOn(
        1995n,
        lateFeeRuleOf({ ...SETTINGS, lateFeeType: 'Fixed Amount', lateFeeAmountScaled: 250n }),
      ),
    ).to.equal(500n); // 2.50 < minimum 5.00
    expect(lateFeeOn(1995n, lateFeeRuleOf({ ...SETTINGS, lateFeeAmountScaled: 0n }))).to.equal(0n); // amount 0: late fees off, no minimum
  });

  it("WHMCS's own fee (AddLateFees): the minimum raises any fee below it, on nothing left to pay too", () => {
    const rule = lateFeeRuleOf(SETTINGS); // 10 %, minimum 5.00
    expect(whmcsLateFee(51200n, rule)).to.equal(5120n); // 10 % of 512.00 = 51.20
    expect(whmcsLateFee(1995n, rule)).to.equal(500n); // 10 % of 19.95 = 2.00 → 5.00
    // WHMCS reads no balance first: an Unpaid invoice with 0.00 (or less) left gets the minimum
    expect(whmcsLateFee(0n, rule)).to.equal(500n);
    expect(whmcsLateFee(-1000n, rule)).to.equal(500n);
    // without a minimum the computed fee as it is: 0.00, or below 0 (10 % of −10.00 = −1.00)
    const noMinimum = lateFeeRuleOf({ ...SETTINGS, lateFeeMinimumMinor: 0n });
    expect(whmcsLateFee(0n, noMinimum)).to.equal(0n);
    expect(whmcsLateFee(-1000n, noMinimum)).to.equal(-100n);
    // a fixed amount whatever the balance, raised to the minimum: 2.50 → 5.00
    const fixed = lateFeeRuleOf({ ...SETTINGS, lateFeeType: 'Fixed Amount', lateFeeAmountScaled: 250n });
    expect(whmcsLateFee(0n, fixed)).to.equal(500n);
    // Late Fee Amount 0: the task adds nothing, not even the minimum
    expect(whmcsLateFee(1995n, lateFeeRuleOf({ ...SETTINGS, lateFeeAmountScaled: 0n }))).to.equal(null);
    // the add-on's reading of the same rule charges nothing when nothing is late
    expect(lateFeeOn(0n, rule)).to.equal(0n);
  });

  it('invoices a renewal CreateInvoiceDaysBefore days ahead', () => {
    expect(invoiceGenerationDue('2025-02-21', '2025-03-01', SETTINGS)).to.equal(false);
    expect(invoiceGenerationDue('2025-02-22', '2025-03-01', SETTINGS)).to.equal(true);
  });

  it('suspends AutoSuspensionDays after the service due date unless overridden (until a date, inclusive)', () => {
    const v = (today: string, o = { enabled: false, until: null as string | null }) =>
      suspensionVerdict(today, '2025-03-01', SETTINGS, o);
    expect(v('2025-03-07')).to.equal('not_due');
    expect(v('2025-03-08')).to.equal('suspend');
    expect(v('2025-03-08', { enabled: true, until: null })).to.equal('overridden');
    expect(v('2025-03-08', { enabled: true, until: '2025-03-10' })).to.equal('overridden');
    expect(v('2025-03-10', { enabled: true, until: '2025-03-10' })).to.equal('overridden');
    expect(v('2025-03-11', { enabled: true, until: '2025-03-10' })).to.equal('suspend');
    expect(
      suspensionVerdict(
        '2025-04-01',
        '2025-03-01',
        { ...SETTINGS, autoSuspend: false },
        { enabled: false, until: null },
      ),
    ).to.equal('disabled');
  });
});

describe('invoice totals', () => {
  it('taxes the taxed lines per level, rounding once, and subtracts credit and payments', () => {
    const t = invoiceTotals(
      [
        { amountMinor: 1995n, taxed: true },
        { amountMinor: 550n, taxed: true },
        { amountMinor: 100n, taxed: false },
      ],
      21000n,
      0n,
      200n,
      1000n,
    );
    expect(t).to.deep.equal({
      subtotalMinor: 2645n,
      taxMinor: 534n,
      tax2Minor: 0n,
      totalMinor: 2979n,
      balanceMinor: 1979n,
    });
  });
});

describe('PHP-style parameters', () => {
  it('parses x[], x[5] and nesting as PHP does', () => {
    const tree = parsePhpPairs(formPairs('a[]=1&a[]=2&b[13]=x&b[]=y&c[k][]=z&d=1&d=2&e.f=3'));
    expect(JSON.parse(JSON.stringify(tree))).to.deep.equal({
      a: { 0: '1', 1: '2' },
      b: { 13: 'x', 14: 'y' },
      c: { k: { 0: 'z' } },
      d: '2',
      e_f: '3',
    });
    expect(splitKey('x[a][b')).to.deep.equal(['x', 'a']);
  });

  it('flattens values as http_build_query and parses them back to the same tree', () => {
    const pairs = toFormPairs({
      n: 1,
      t: true,
      f: false,
      skip: undefined,
      list: ['a', 'b'],
      map: { 13: 'x' },
      money: '12.50',
    });
    expect(pairs).to.deep.equal([
      ['n', '1'],
      ['t', '1'],
      ['f', '0'],
      ['list[0]', 'a'],
      ['list[1]', 'b'],
      ['map[13]', 'x'],
      ['money', '12.50'],
    ]);
    const tree = parsePhpPairs(pairs);
    expect(tree.list).to.deep.equal(Object.assign(Object.create(null), { 0: 'a', 1: 'b' }));
  });
});

describe('PHP serialize', () => {
  it('round-trips the arrays WHMCS takes base64-serialized, counting UTF-8 bytes', () => {
    const s = phpSerialize({ custommerge: 'héllo', 3: 'x' });
    expect(s).to.equal('a:2:{i:3;s:1:"x";s:11:"custommerge";s:6:"héllo";}');
    expect(phpUnserialize(s)).to.deep.equal(
      Object.assign(Object.create(null), { 3: 'x', custommerge: 'héllo' }),
    );
    expect(decodeSerializedMap(base64PhpSerialize({ a: '1' }))).to.deep.equal({ a: '1' });
  });

  it('refuses objects, truncation and garbage', () => {
    expect(() => phpUnserialize('O:8:"stdClass":0:{}')).to.throw(SyntaxError);
    expect(() => phpUnserialize('s:5:"abc";')).to.throw(SyntaxError);
    expect(decodeSerializedMap('not base64!')).to.equal(null);
    expect(decodeSerializedMap(Buffer.from('s:1:"a";').toString('base64'))).to.equal(null);
  });
});

describe('merge fields', () => {
  it('fills {$fields}, escapes values in HTML and leaves unknown fields empty', () => {
    const out = renderMergeFields(
      '<p>{$client_name} {$missing}{$x.y}</p>{$invoice_html_contents}',
      { client_name: '<b>Jan</b>', x: { y: 'Z' }, invoice_html_contents: '<table></table>' },
      {
        html: true,
        raw: new Set(['invoice_html_contents']),
      },
    );
    expect(out).to.equal('<p>&lt;b&gt;Jan&lt;/b&gt; Z</p><table></table>');
  });
});
