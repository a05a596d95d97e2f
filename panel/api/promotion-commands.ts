import { dateCell, intCell, moneyCell, textCell } from '../db/rows.js';
import { formatMoney } from '../domain/money.js';
import type { CommandFn } from './registry.js';

const ZERO_DATE = '0000-00-00';

/**
 * GetPromotions (developers.whmcs.com/api-reference/getpromotions/): every promotion, or the one
 * with `code`, in the shape of WHMCS's example answer (ids, flags and counts as numbers, the
 * dates 0000-00-00 when unset). `value` is a string with two decimals, as the panel answers all
 * money ("10.00"; WHMCS's example shows the number 10).
 */
export const GetPromotions: CommandFn = async (p, { core }) => {
  let q = core.knex('tblpromotions');
  if (p.given('code')) q = q.whereRaw('LOWER(code) = ?', [p.text('code').trim().toLowerCase()]);
  const rows = await q.orderBy('id');
  const flag = (v: unknown) => intCell(v);
  return {
    totalresults: rows.length,
    promotions: {
      promotion: rows.map((r) => ({
        id: intCell(r.id),
        code: textCell(r.code),
        type: textCell(r.type),
        recurring: flag(r.recurring),
        value: formatMoney(moneyCell(r.value)),
        cycles: textCell(r.cycles),
        appliesto: textCell(r.appliesto),
        requires: textCell(r.requires),
        requiresexisting: flag(r.requiresexisting),
        startdate: dateCell(r.startdate) ?? ZERO_DATE,
        expirationdate: dateCell(r.expirationdate) ?? ZERO_DATE,
        maxuses: intCell(r.maxuses),
        uses: intCell(r.uses),
        lifetimepromo: flag(r.lifetimepromo),
        applyonce: flag(r.applyonce),
        newsignups: flag(r.newsignups),
        existingclient: flag(r.existingclient),
        onceperclient: flag(r.onceperclient),
        recurfor: intCell(r.recurfor),
        upgrades: flag(r.upgrades),
        upgradeconfig: textCell(r.upgradeconfig),
        notes: textCell(r.notes),
      })),
    },
  };
};
