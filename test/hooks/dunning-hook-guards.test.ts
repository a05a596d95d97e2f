import { expect } from 'chai';
import { createLogger, type Logger } from '../../module/adapters/logger.js';
import type { DunningShield } from '../../module/services/dunning-shield.js';
import { AddInvoiceLateFee } from '../../hooks/AddInvoiceLateFee.js';
import { EmailPreSend } from '../../hooks/EmailPreSend.js';
import { PreModuleSuspend } from '../../hooks/PreModuleSuspend.js';
import { moduleHooks, type HookDeps, type HookVars } from '../../hooks/index.js';

/**
 * The three dunning hooks as WHMCS calls them, before any rule: what they do with the variables
 * the panel hands them, and what an operator reads in the log when the module cannot answer.
 * The rules themselves (held amounts, the late fee's base) are in dunning-hooks.test.ts and
 * hook-answers.test.ts, on the reference panel.
 *
 * The shield here is a stand-in that answers "stop it" for client 12 and invoice 34 only, and
 * records what it was asked: a hook that lets a malformed id through would stop a suspension or an
 * email of a client it cannot name, or touch the late fee of an invoice that does not exist.
 */
function fixture(opts: { fails?: string; keepFails?: string } = {}) {
  const asked: string[] = [];
  const lines: Array<Record<string, unknown>> = [];
  const log: Logger = createLogger({
    level: 'debug',
    write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>),
  });
  const fail = () => {
    if (opts.fails) throw new Error(opts.fails);
  };
  const shield: DunningShield = {
    async dunningEmail(invoiceId, template) {
      asked.push(`email ${invoiceId} ${template}`);
      fail();
      return invoiceId === 34 ? { abortsend: true } : undefined;
    },
    async suspensionShielded(clientId) {
      asked.push(`suspend ${clientId}`);
      fail();
      return clientId === 12;
    },
    async correctLateFee(invoiceId) {
      asked.push(`late fee ${invoiceId}`);
      fail();
      return null;
    },
  };
  const call = (h: { handler: (v: HookVars) => unknown }) => (vars: HookVars) =>
    h.handler(vars) as Promise<unknown>;
  return {
    asked,
    events: () => lines.map(({ at: _at, ...rest }) => rest),
    suspend: call(PreModuleSuspend({ shield, log })),
    email: call(EmailPreSend({ shield, log })),
    lateFee: call(
      AddInvoiceLateFee({
        shield,
        log,
        failed: async (invoiceId, error) => {
          asked.push(`keep ${invoiceId}: ${error}`);
          if (opts.keepFails) throw new Error(opts.keepFails);
        },
      }),
    ),
  };
}

/** A shield whose late-fee correction fails (UpdateInvoice refused), with the log it writes to. */
function shieldOnly() {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({
    level: 'debug',
    write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>),
  });
  const shield = {
    log,
    async correctLateFee() {
      throw new Error('UpdateInvoice refused');
    },
  } as unknown as DunningShield & { log: Logger };
  return { shield, events: () => lines.map(({ at: _at, ...rest }) => rest) };
}

describe('the dunning hooks with what the panel hands them', () => {
  describe('PreModuleSuspend', () => {
    it('stops the suspension of client 12 whether WHMCS names it userid or clientid, and logs which service and why', async () => {
      const f = fixture();
      expect(await f.suspend({ params: { serviceid: 7, userid: 12 } })).to.deep.equal({ abortcmd: true });
      // older WHMCS versions: accountid and clientid, and the variables not wrapped in params
      expect(await f.suspend({ accountid: '8', clientid: '12' })).to.deep.equal({ abortcmd: true });
      expect(await f.suspend({ params: { serviceid: 9, userid: 13 } })).to.equal(undefined);
      expect(f.asked).to.deep.equal(['suspend 12', 'suspend 12', 'suspend 13']);
      expect(f.events()).to.deep.equal([
        {
          level: 'info',
          event: 'hook.pre_module_suspend.aborted',
          serviceId: 7,
          clientId: 12,
          reason: 'only disputed amounts are overdue',
        },
        {
          level: 'info',
          event: 'hook.pre_module_suspend.aborted',
          serviceId: 8,
          clientId: 12,
          reason: 'only disputed amounts are overdue',
        },
      ]);
    });

    it('never stops a suspension whose client id is missing, zero, negative, fractional or not a number', async () => {
      const f = fixture();
      for (const userid of [undefined, 0, '0', -12, '-12', 12.5, 'abc', '', 2 ** 53]) {
        expect(await f.suspend({ params: { serviceid: 7, userid } }), String(userid)).to.equal(undefined);
      }
      expect(f.asked).to.deep.equal([]);
    });

    it('lets the suspension go ahead when the module cannot tell (fails open), and says so in the log', async () => {
      const f = fixture({ fails: 'panel API unreachable' });
      expect(await f.suspend({ params: { serviceid: 7, userid: 12 } })).to.equal(undefined);
      expect(f.events()).to.deep.equal([
        {
          level: 'warn',
          event: 'hook.pre_module_suspend.failed',
          serviceId: 7,
          error: 'Error',
        },
      ]);
    });
  });

  describe('EmailPreSend', () => {
    it('asks about dunning templates and Invoice Created only, for the invoice in relid', async () => {
      const f = fixture();
      expect(await f.email({ messagename: 'First Invoice Overdue Notice', relid: '34' })).to.deep.equal({
        abortsend: true,
      });
      expect(await f.email({ messagename: 'Invoice Payment Reminder', relid: 35 })).to.equal(undefined);
      expect(await f.email({ messagename: 'Invoice Created', relid: 36 })).to.equal(undefined);
      // not about an invoice's money: never asked, whatever the relid
      expect(await f.email({ messagename: 'Client Signup Email', relid: 34 })).to.equal(undefined);
      expect(await f.email({ relid: 34 })).to.equal(undefined);
      expect(f.asked).to.deep.equal([
        'email 34 First Invoice Overdue Notice',
        'email 35 Invoice Payment Reminder',
        'email 36 Invoice Created',
      ]);
    });

    it('never stops an email whose invoice id is missing, zero, negative or not a number', async () => {
      const f = fixture();
      for (const relid of [undefined, 0, '0', -34, '-34', 'abc', 34.5]) {
        expect(
          await f.email({ messagename: 'Second Invoice Overdue Notice', relid }),
          String(relid),
        ).to.equal(undefined);
      }
      expect(f.asked).to.deep.equal([]);
    });

    it('sends the email unchanged when the module cannot tell, and logs the invoice, template and error', async () => {
      const f = fixture({ fails: 'database is locked' });
      expect(await f.email({ messagename: 'Third Invoice Overdue Notice', relid: 34 })).to.equal(undefined);
      expect(f.events()).to.deep.equal([
        {
          level: 'warn',
          event: 'hook.email_pre_send.failed',
          invoiceId: 34,
          template: 'Third Invoice Overdue Notice',
          error: 'Error',
        },
      ]);
    });
  });

  describe('AddInvoiceLateFee', () => {
    it('corrects the fee of the invoice in invoiceid only, never of a malformed id', async () => {
      const f = fixture();
      expect(await f.lateFee({ invoiceid: '34' })).to.equal(undefined);
      for (const invoiceid of [undefined, 0, '0', -34, 'abc', 34.5])
        expect(await f.lateFee({ invoiceid }), String(invoiceid)).to.equal(undefined);
      expect(f.asked).to.deep.equal(['late fee 34']);
    });

    it('leaves the panel fee as it is when the correction fails, and logs the invoice and error', async () => {
      const f = fixture({ fails: 'UpdateInvoice refused' });
      expect(await f.lateFee({ invoiceid: 34 })).to.equal(undefined);
      expect(f.events()).to.deep.equal([
        {
          level: 'warn',
          event: 'hook.add_invoice_late_fee.failed',
          invoiceId: 34,
          error: 'the late fee was not corrected: Error',
        },
      ]);
      // kept for the 5-minute sweep
      expect(f.asked).to.deep.equal(['late fee 34', 'keep 34: the late fee was not corrected: Error']);
    });

    it('on a host that keeps no failures, answers the panel all the same and only logs it', async () => {
      const { shield, events } = shieldOnly();
      const hook = AddInvoiceLateFee({ shield, log: shield.log });
      expect(await hook.handler({ invoiceid: 34 })).to.equal(undefined);
      expect(events().map((e) => [e.level, e.event, e.error])).to.deep.equal([
        ['warn', 'hook.add_invoice_late_fee.failed', 'the late fee was not corrected: Error'],
      ]);
    });

    it("is registered with the module's keeper of failures, which gets invoice 34's", async () => {
      const { shield, events } = shieldOnly();
      const kept: string[] = [];
      const deps = {
        metering: {},
        settings: {},
        clock: {},
        zone: 'Europe/Brussels',
        log: shield.log,
        dunning: shield,
        lateFeeFailed: async (id: number, error: string) => void kept.push(`${id}: ${error}`),
      } as unknown as HookDeps;
      const hook = moduleHooks(deps).find((h) => h.name === 'AddInvoiceLateFee')!;
      await hook.handler({ invoiceid: 34 });
      expect(kept).to.deep.equal(['34: the late fee was not corrected: Error']);
      expect(events().map((e) => e.event)).to.deep.equal(['hook.add_invoice_late_fee.failed']);
    });

    it('answers the panel all the same when the failure cannot be kept either, and logs that it was not', async () => {
      const f = fixture({ fails: 'UpdateInvoice refused', keepFails: 'database gone' });
      expect(await f.lateFee({ invoiceid: 34 })).to.equal(undefined);
      expect(f.events().map((e) => [e.level, e.event, e.error])).to.deep.equal([
        ['warn', 'hook.add_invoice_late_fee.failed', 'the late fee was not corrected: Error'],
        ['error', 'hook.add_invoice_late_fee.not_kept', 'Error'],
      ]);
    });
  });
});
