import { expect } from 'chai';
import { ManualClock } from '../../module/adapters/clocks.js';
import { createLogger } from '../../module/adapters/logger.js';
import type { PanelApi, PanelInvoice, UpdateInvoiceInput } from '../../module/adapters/panel-api.js';
import type { DisputeService } from '../../module/services/disputes.js';
import { createDunningShield } from '../../module/services/dunning-shield.js';

/**
 * The dunning shield's own decisions, against a stand-in panel that answers as WHMCS's local API
 * does (GetInvoice, GetInvoices, GetClientsDetails, GetConfigurationValue, UpdateInvoice; amounts
 * as two-decimal strings, docs/whmcs.md) and records what it was asked. The same rules on the
 * reference panel, with its own automation, are in test/hooks/dunning-hooks.test.ts.
 *
 * Client 12 (Dutch) has invoice 34: hosting €19.95 and May's overusage €500.00, the latter
 * disputed; today is 16 June 2013 in Brussels.
 */
const NBSP = '\u00a0';

function invoice(o: Partial<PanelInvoice> & { invoiceId: number }): PanelInvoice {
  return {
    invoiceNum: String(o.invoiceId),
    userId: 12,
    date: '2013-06-02',
    dueDate: '2013-06-09',
    datePaid: null,
    subtotal: '0.00',
    credit: '0.00',
    tax: '0.00',
    tax2: '0.00',
    total: '0.00',
    balance: '0.00',
    taxRate: '0.00',
    taxRate2: '0.00',
    status: 'Unpaid',
    paymentMethod: 'banktransfer',
    notes: '',
    items: [],
    transactions: [],
    ...o,
  };
}

interface World {
  invoices: PanelInvoice[];
  /** held items by invoice: the panel amounts */
  held: Record<number, string[]>;
  open: Array<{ description: string; amountMinor: bigint; currency: string }>;
  settings?: Record<string, string>;
}

function shieldFor(w: World) {
  const asked: unknown[] = [];
  const updates: UpdateInvoiceInput[] = [];
  const activity: string[] = [];
  const lines: Array<Record<string, unknown>> = [];
  const panel = {
    async getInvoice(id: number) {
      const inv = w.invoices.find((i) => i.invoiceId === id);
      if (!inv) throw new Error(`Invoice ID Not Found: ${id}`);
      return inv;
    },
    async getInvoices(filter: unknown) {
      asked.push(filter);
      const f = filter as { userId: number; status: string };
      const invoices = w.invoices
        .filter((i) => i.userId === f.userId && i.status === f.status)
        .map((i) => ({ id: i.invoiceId, dueDate: i.dueDate }));
      return { totalResults: invoices.length, invoices };
    },
    async getClientsDetails() {
      return { language: 'dutch' };
    },
    async getConfigurationValue(key: string) {
      const v = w.settings?.[key];
      if (v === undefined) throw new Error(`setting ${key} not found`);
      return v;
    },
    async updateInvoice(input: UpdateInvoiceInput) {
      updates.push(input);
      return { invoiceId: input.invoiceId };
    },
    async logActivity(text: string) {
      activity.push(text);
    },
  } as unknown as PanelApi;
  const disputes = {
    async heldItemsOnInvoice(id: number) {
      return (w.held[id] ?? []).map((panelAmount, i) => ({
        itemId: 100 + i,
        amountMinor: 0n,
        panelAmount,
        description: 'overusage',
      }));
    },
    async openForClient() {
      return w.open.map((d, i) => ({ disputeId: i + 1, lineId: i + 1, ...d }));
    },
  } as unknown as DisputeService;
  const clock = new ManualClock('2013-06-16T07:00:00Z');
  const log = createLogger({
    level: 'debug',
    write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>),
  });
  const shield = createDunningShield({ disputes, panel, clock, zone: 'Europe/Brussels', log });
  return { shield, asked, updates, activity, events: () => lines.map(({ at: _at, ...rest }) => rest) };
}

const MAY = { description: 'Bandwidth overusage May 2013', amountMinor: 50000n, currency: 'EUR' };

describe('the dunning shield, asking a panel', () => {
  describe('dunning emails', () => {
    it('stops a reminder about an invoice whose €500.00 balance is all held, and logs why', async () => {
      const s = shieldFor({
        invoices: [invoice({ invoiceId: 34, balance: '500.00' })],
        held: { 34: ['500.00'] },
        open: [MAY],
      });
      expect(await s.shield.dunningEmail(34, 'First Invoice Overdue Notice')).to.deep.equal({
        abortsend: true,
      });
      expect(s.events()).to.deep.equal([
        {
          level: 'info',
          event: 'hook.email_pre_send.aborted',
          invoiceId: 34,
          template: 'First Invoice Overdue Notice',
          reason: 'only disputed amounts are unpaid',
        },
      ]);
    });

    it("lists every open dispute of the client, one a line, in the client's language", async () => {
      const june = { description: 'Bandwidth overusage June 2013', amountMinor: 12345n, currency: 'EUR' };
      const s = shieldFor({
        invoices: [invoice({ invoiceId: 34, balance: '519.95' })],
        held: { 34: ['500.00'] },
        open: [MAY, june],
      });
      // €519.95 unpaid of which €500.00 held: the reminder goes, with the held lines
      const note = 'opgeschort, in betwisting: niet verschuldigd tot we beslissen';
      expect(await s.shield.dunningEmail(34, 'Invoice Payment Reminder')).to.deep.equal({
        overusage_held_lines: `Bandwidth overusage May 2013 — €${NBSP}500,00 (${note})\nBandwidth overusage June 2013 — €${NBSP}123,45 (${note})`,
      });
    });

    it('names the balance when the panel answers one that is not an amount', async () => {
      const s = shieldFor({
        invoices: [invoice({ invoiceId: 34, balance: 'n/a' })],
        held: { 34: ['500.00'] },
        open: [MAY],
      });
      let err: Error | undefined;
      await s.shield.dunningEmail(34, 'First Invoice Overdue Notice').catch((e: Error) => (err = e));
      expect(err?.message).to.match(/^balance must be a decimal number/);
    });
  });

  describe('suspensions', () => {
    const held34 = invoice({ invoiceId: 34, balance: '500.00', dueDate: '2013-06-09' });

    it("asks for the client's unpaid invoices only, and stops the suspension when the overdue €500.00 is all held", async () => {
      // a cancelled invoice with a balance is not owed; WHMCS does not dun it
      const cancelled = invoice({
        invoiceId: 30,
        balance: '19.95',
        dueDate: '2013-05-09',
        status: 'Cancelled',
      });
      const s = shieldFor({ invoices: [held34, cancelled], held: { 34: ['500.00'] }, open: [MAY] });
      expect(await s.shield.suspensionShielded(12)).to.equal(true);
      expect(s.asked).to.deep.equal([{ userId: 12, status: 'Unpaid', limitNum: 100 }]);
    });

    it('counts invoices due before today as overdue, not one due today or with no due date', async () => {
      const shielded = async (other: Partial<PanelInvoice>) => {
        const s = shieldFor({
          invoices: [held34, invoice({ invoiceId: 35, balance: '19.95', ...other })],
          held: { 34: ['500.00'] },
          open: [MAY],
        });
        return s.shield.suspensionShielded(12);
      };
      expect(await shielded({ dueDate: '2013-06-16' })).to.equal(true);
      expect(await shielded({ dueDate: null })).to.equal(true);
      expect(await shielded({ dueDate: '2013-06-15' })).to.equal(false);
    });

    it('names the balance when the panel answers one that is not an amount', async () => {
      const s = shieldFor({
        invoices: [invoice({ invoiceId: 34, balance: '' })],
        held: { 34: ['500.00'] },
        open: [MAY],
      });
      let err: Error | undefined;
      await s.shield.suspensionShielded(12).catch((e: Error) => (err = e));
      expect(err?.message).to.match(/^balance must be a decimal number/);
    });
  });

  describe('late fees', () => {
    const fee = (amount: string) => ({
      id: 9,
      type: 'LateFee',
      relId: 0,
      description: 'Late Fee',
      amount,
      taxed: false,
    });

    it('never touches a fee on an invoice without a disputed line, even one it would compute otherwise', async () => {
      // 10 % of €519.95 would be €52.00; the panel's own €50.00 stays: not ours to change
      const s = shieldFor({
        invoices: [invoice({ invoiceId: 34, balance: '569.95', items: [fee('50.00')] })],
        held: {},
        open: [],
        settings: { LateFeeType: 'Percentage', InvoiceLateFeeAmount: '10' },
      });
      await s.shield.correctLateFee(34);
      expect(s.updates).to.deep.equal([]);
      expect(s.activity).to.deep.equal([]);
    });

    it('does nothing on an invoice with a disputed line but no late fee', async () => {
      const s = shieldFor({
        invoices: [invoice({ invoiceId: 34, balance: '519.95' })],
        held: { 34: ['500.00'] },
        open: [MAY],
        settings: { LateFeeType: 'Percentage', InvoiceLateFeeAmount: '10' },
      });
      await s.shield.correctLateFee(34);
      expect(s.updates).to.deep.equal([]);
    });

    it('reads empty or missing fee settings as no fee, and sets the fee the panel added to 0.00', async () => {
      for (const settings of [
        {},
        { LateFeeType: 'Percentage', InvoiceLateFeeAmount: '', LateFeeMinimum: '' },
      ] as Array<Record<string, string>>) {
        // €571.95 = €519.95 + the panel's €52.00 fee; base €19.95; 0 % of it is nothing. The fee
        // line stays, at 0.00: WHMCS adds a fee to an overdue invoice with no fee line, every day
        const s = shieldFor({
          invoices: [invoice({ invoiceId: 34, balance: '571.95', items: [fee('52.00')] })],
          held: { 34: ['500.00'] },
          open: [MAY],
          settings,
        });
        await s.shield.correctLateFee(34);
        expect(s.updates, JSON.stringify(settings)).to.deep.equal([
          { invoiceId: 34, changeItems: [{ id: 9, description: 'Late Fee', amount: '0.00', taxed: false }] },
        ]);
      }
    });

    it("sets a fixed fee of €5.00 ('Fixed Amount') on the undisputed rest, and says so in the activity log", async () => {
      const s = shieldFor({
        invoices: [invoice({ invoiceId: 34, balance: '569.95', items: [fee('50.00')] })],
        held: { 34: ['500.00'] },
        open: [MAY],
        settings: { LateFeeType: 'Fixed Amount', InvoiceLateFeeAmount: '5.00', LateFeeMinimum: '' },
      });
      await s.shield.correctLateFee(34);
      expect(s.updates).to.deep.equal([
        { invoiceId: 34, changeItems: [{ id: 9, description: 'Late Fee', amount: '5.00', taxed: false }] },
      ]);
      expect(s.activity).to.deep.equal([
        'Overusage: late fee on invoice 34 set to 5.00: disputed lines are not part of its base',
      ]);
    });
  });
});
