import { loadClient } from '../db/clients.js';
import { dateCell, datetimeCell, intCell, moneyCell, sqlMoney, textCell } from '../db/rows.js';
import { formatMoney } from '../domain/money.js';
import { applyCreditToInvoice } from '../core/billing.js';
import { CommandError } from '../core/errors.js';
import { ZERO_DATETIME } from '../core/views.js';
import type { CommandFn } from './registry.js';

/**
 * AddCredit (docs/whmcs.md, "API commands"): adds to (or with type=remove takes from) a client's credit balance,
 * recorded in tblcredit. Errors as WHMCS words them.
 */
export const AddCredit: CommandFn = async (p, { core, when }) => {
  const type = p.given('type') ? p.text('type').trim().toLowerCase() : 'add';
  if (type !== 'add' && type !== 'remove') throw new CommandError('Type can only be add or remove');
  const clientId = p.id('clientid');
  const description = p.text('description').trim();
  if (!p.given('amount') || p.text('amount').trim() === '') throw new CommandError('No Amount Provided');
  const amount = p.money('amount');
  if (amount === undefined || amount <= 0n)
    throw new CommandError('Amount must be in decimal format: ### or ###.##');
  const date = p.date('date') ?? when.today;
  return core.knex.transaction(async (trx) => {
    const client = await loadClient(trx, clientId);
    if (!client) throw new CommandError('Client ID Not Found');
    const delta = type === 'add' ? amount : -amount;
    const balance = client.creditMinor + delta;
    await trx('tblclients')
      .where({ id: clientId })
      .update({ credit: sqlMoney(balance) });
    await trx('tblcredit').insert({
      clientid: clientId,
      date,
      description,
      amount: sqlMoney(delta),
      relid: 0,
    });
    return { newbalance: formatMoney(balance) };
  });
};

/** GetCredits: a client's credit log (tblcredit), oldest first, as WHMCS lists it. */
export const GetCredits: CommandFn = async (p, { core }) => {
  const clientId = p.id('clientid');
  const client = await loadClient(core.knex, clientId);
  if (!client) throw new CommandError('Client ID Not Found');
  const rows = await core.knex('tblcredit').where({ clientid: clientId }).orderBy('id');
  return {
    totalresults: rows.length,
    clientid: clientId,
    credits: {
      credit: rows.map((r) => ({
        id: intCell(r.id),
        date: dateCell(r.date) ?? '',
        description: textCell(r.description),
        amount: formatMoney(moneyCell(r.amount)),
        relid: intCell(r.relid),
      })),
    },
  };
};

/**
 * ApplyCredit (developers.whmcs.com/api-reference/applycredit/): in `invoiceid`, `amount` (optional:
 * without it, as much as the credit and the balance allow), `noemail`; out `invoiceid`, `amount`
 * and `invoicepaid` as the strings "true"/"false", as WHMCS's example answers.
 */
export const ApplyCredit: CommandFn = async (p, { core, when }) => {
  const invoiceid = p.id('invoiceid');
  const amountMinor = p.money('amount');
  const done = await applyCreditToInvoice(
    core,
    { invoiceid, ...(amountMinor !== undefined ? { amountMinor } : {}), noemail: p.bool('noemail') },
    when,
  );
  return {
    invoiceid: String(invoiceid),
    amount: formatMoney(done.amountMinor),
    invoicepaid: done.paid ? 'true' : 'false',
  };
};

/**
 * GetTransactions (developers.whmcs.com/api-reference/gettransactions/): tblaccounts filtered by
 * `invoiceid`, `clientid`, `transid` (each optional; a filter given but not a valid id matches
 * nothing), oldest first, every value a string as in WHMCS's example answer.
 */
export const GetTransactions: CommandFn = async (p, { core }) => {
  let q = core.knex('tblaccounts');
  if (p.given('invoiceid')) q = q.where({ invoiceid: p.id('invoiceid') });
  if (p.given('clientid')) q = q.where({ userid: p.id('clientid') });
  if (p.given('transid')) q = q.where({ transid: p.text('transid') });
  const rows = await q.orderBy('id');
  const transaction = rows.map((r) => ({
    id: String(intCell(r.id)),
    userid: String(intCell(r.userid)),
    currency: String(intCell(r.currency)),
    gateway: textCell(r.gateway),
    date: datetimeCell(r.date) ?? ZERO_DATETIME,
    description: textCell(r.description),
    amountin: formatMoney(moneyCell(r.amountin)),
    fees: formatMoney(moneyCell(r.fees)),
    amountout: formatMoney(moneyCell(r.amountout)),
    rate: textCell(r.rate),
    transid: textCell(r.transid),
    invoiceid: String(intCell(r.invoiceid)),
    refundid: String(intCell(r.refundid)),
  }));
  return {
    totalresults: transaction.length,
    startnumber: 0,
    numreturned: transaction.length,
    transactions: { transaction },
  };
};
