/**
 * AddOrder's configoptions[]: per product, base64_encode(serialize([option id => value])), as
 * developers.whmcs.com/api-reference/addorder/ documents it (its example: [1 => 999]). The value
 * is the chosen choice's id for a dropdown (type 1) or radio (2), 1/0 for yes/no (3) and the
 * quantity for a quantity option (4). An option the product does not have is left out (as for
 * customfields); one not given takes what the order form shows first: a dropdown's or radio's
 * first choice, yes/no off, a quantity's minimum — a hidden option (not on the order form) is
 * only taken when given. Each choice is priced per currency in tblpricing
 * (type 'configoptions', relid the choice): the cycle's column and its setup fee, times the
 * quantity for a quantity option.
 */
import { intCell, moneyCell, textCell, type Db } from '../db/rows.js';
import { decodeSerializedMap } from '../domain/php-serialize.js';
import { CommandError, MSG } from '../core/errors.js';

export interface ChosenOption {
  configid: number;
  /** the choice (tblproductconfigoptionssub.id) */
  optionid: number;
  qty: number;
  /** the line under the product on the invoice: "Memory: 4 GB" */
  label: string;
}

export interface PricedOptions {
  chosen: ChosenOption[];
  /** per unit of the product, for the chosen cycle */
  recurringMinor: bigint;
  setupMinor: bigint;
}

interface Choice {
  id: number;
  name: string;
}

/** A choice named "value|Label" shows its label, as GetProducts does. */
const shown = (raw: string): string => (raw.includes('|') ? raw.slice(raw.indexOf('|') + 1) : raw);

const YES = new Set(['1', 'on', 'yes', 'true']);

function choose(
  o: Record<string, unknown>,
  choices: Choice[],
  given: string | undefined,
): { choice: Choice | undefined; qty: number; label: string } {
  const name = textCell(o.optionname);
  const type = textCell(o.optiontype);
  if (type === '3') {
    const on = given !== undefined && YES.has(given.trim().toLowerCase());
    return { choice: choices[0], qty: on ? 1 : 0, label: `${name}: ${on ? 'Yes' : 'No'}` };
  }
  if (type === '4') {
    const min = intCell(o.qtyminimum);
    const max = intCell(o.qtymaximum);
    const text = given?.trim() ?? String(min);
    const qty = /^\d{1,6}$/.test(text) ? Number(text) : -1;
    if (qty < 0 || qty < min || (max > 0 && qty > max))
      throw new CommandError(MSG.badOptionQuantity(name, text, min, max));
    return { choice: choices[0], qty, label: `${name}: ${qty} x ${shown(choices[0]?.name ?? '')}`.trimEnd() };
  }
  const choice = given === undefined ? choices[0] : choices.find((c) => String(c.id) === given.trim());
  if (!choice) throw new CommandError(MSG.badOptionChoice(name, given ?? ''));
  return { choice, qty: 0, label: `${name}: ${shown(choice.name)}` };
}

/**
 * The options chosen for one ordered product and what they add to its price in `currencyId` for
 * the cycle's price and setup columns (null columns: a free product, the options cost nothing).
 */
export async function pricedOptions(
  db: Db,
  productId: number,
  encoded: string | undefined,
  currencyId: number,
  columns: { price: string; setup: string } | null,
): Promise<PricedOptions> {
  let given: Record<string, string> = {};
  if (encoded !== undefined && encoded !== '') {
    const map = decodeSerializedMap(encoded);
    if (!map) throw new CommandError(MSG.badConfigOptions);
    given = map;
  }
  const options = await db('tblproductconfigoptions as o')
    .join('tblproductconfiglinks as l', 'l.gid', 'o.gid')
    .where({ 'l.pid': productId })
    .orderBy([{ column: 'o.order' }, { column: 'o.id' }])
    .select('o.*');
  const out: PricedOptions = { chosen: [], recurringMinor: 0n, setupMinor: 0n };
  for (const o of options) {
    const configid = intCell(o.id);
    if (intCell(o.hidden) === 1 && given[String(configid)] === undefined) continue;
    const choices = (
      await db('tblproductconfigoptionssub')
        .where({ configid })
        .orderBy(['sortorder', 'id'])
        .select('id', 'optionname')
    ).map((c) => ({ id: intCell(c.id), name: textCell(c.optionname) }));
    const { choice, qty, label } = choose(o, choices, given[String(configid)]);
    out.chosen.push({ configid, optionid: choice?.id ?? 0, qty, label });
    if (!choice || !columns) continue;
    // a dropdown or radio costs its choice once; yes/no and quantity cost it per unit chosen
    const units = BigInt(textCell(o.optiontype) === '3' || textCell(o.optiontype) === '4' ? qty : 1);
    const price = await db('tblpricing')
      .where({ type: 'configoptions', relid: choice.id, currency: currencyId })
      .first();
    if (!price) continue;
    out.recurringMinor += moneyCell(price[columns.price]) * units;
    out.setupMinor += moneyCell(price[columns.setup]) * units;
  }
  return out;
}
