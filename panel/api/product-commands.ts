import { intCell, textCell } from '../db/rows.js';
import type { CommandFn } from './registry.js';

/**
 * GetProducts: the configured products (WHMCS documents pid — one id or a comma list —, gid and
 * module as filters). WHMCS's documented answer lists no overage fields; the reference host adds
 * `overagesenabled` from tblproducts, so an add-on can refuse to double-bill here. Against a real
 * WHMCS the field is absent and the add-on must ask the admin instead.
 */
export const GetProducts: CommandFn = async (p, { core }) => {
  let q = core.knex('tblproducts');
  if (p.given('pid')) {
    const ids = p
      .text('pid')
      .split(',')
      .map((s) => Number(s.trim()))
      .filter((n) => Number.isSafeInteger(n) && n > 0);
    q = q.whereIn('id', ids.length ? ids : [0]);
  }
  if (p.given('gid')) q = q.where({ gid: p.id('gid') });
  if (p.given('module')) q = q.where({ servertype: p.text('module') });
  const rows = await q.orderBy('id');
  return {
    totalresults: String(rows.length),
    products: {
      product: rows.map((r) => ({
        pid: String(intCell(r.id)),
        gid: String(intCell(r.gid ?? 0)),
        type: textCell(r.type ?? 'server'),
        name: textCell(r.name),
        description: textCell(r.description ?? ''),
        module: textCell(r.servertype ?? ''),
        paytype: textCell(r.paytype ?? 'recurring'),
        overagesenabled: textCell(r.overagesenabled ?? ''),
      })),
    },
  };
};
