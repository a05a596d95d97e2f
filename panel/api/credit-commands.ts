import { loadClient } from '../db/clients.js';
import { dateCell, intCell, moneyCell, sqlMoney, textCell } from '../db/rows.js';
import { formatMoney } from '../domain/money.js';
import { CommandError } from '../core/errors.js';
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
  if (amount === undefined || amount <= 0n) throw new CommandError('Amount must be in decimal format: ### or ###.##');
  const date = p.date('date') ?? when.today;
  return core.knex.transaction(async (trx) => {
    const client = await loadClient(trx, clientId);
    if (!client) throw new CommandError('Client ID Not Found');
    const delta = type === 'add' ? amount : -amount;
    const balance = client.creditMinor + delta;
    await trx('tblclients').where({ id: clientId }).update({ credit: sqlMoney(balance) });
    await trx('tblcredit').insert({ clientid: clientId, date, description, amount: sqlMoney(delta), relid: 0 });
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
    credits: { credit: rows.map((r) => ({ id: intCell(r.id), date: dateCell(r.date) ?? '', description: textCell(r.description), amount: formatMoney(moneyCell(r.amount)), relid: intCell(r.relid) })) },
  };
};
