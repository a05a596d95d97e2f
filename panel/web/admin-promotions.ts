/**
 * Configuration › System Settings › Promotions (docs.whmcs.com/products/promotions; WHMCS has no
 * API command to create one): a full administrator lists the promotion codes and adds one — a
 * Percentage or a Fixed Amount, once or on every renewal, for the products and cycles ticked,
 * between optional start and expiry dates, up to a number of uses (0: unlimited). AddOrder's
 * `promocode` applies them (api/order-promo.ts). Each field is one form value (a box per product
 * and per cycle), as every panel form takes; the CSRF token is checked, everything is escaped.
 */
import type { Request, Response, Router } from 'express';
import { addPromotion } from '../records.js';
import { BILLING_CYCLES } from '../domain/billing-cycle.js';
import { formatMoney } from '../domain/money.js';
import { promotionOf } from '../api/order-promo.js';
import { intCell, textCell } from '../db/rows.js';
import { clientIp, field, type WebContext } from './context.js';
import type { AdminPageKit } from './admin-api-credentials.js';

const PAGE = 'configpromotions.php';
const CYCLES = BILLING_CYCLES.filter((c) => c !== 'Free Account');
const cycleBox = (c: string) => `cycle_${c.toLowerCase().replace(/[^a-z]/g, '')}`;

export function registerPromotionPages(router: Router, ctx: WebContext, kit: AdminPageKit): void {
  const db = ctx.knex;

  async function render(
    req: Request,
    res: Response,
    status: number,
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    const products = (await db('tblproducts').orderBy('id').select('id', 'name')).map((p) => ({
      id: intCell(p.id),
      name: textCell(p.name),
    }));
    const names = new Map(products.map((p) => [p.id, p.name]));
    const promotions = (await db('tblpromotions').orderBy('id')).map((r) => {
      const p = promotionOf(r);
      return {
        code: p.code,
        value: p.type === 'Percentage' ? `${formatMoney(p.valueMinor)}%` : formatMoney(p.valueMinor),
        type: p.type,
        recurring: p.recurring ? 'Recurring' : 'First invoice',
        appliesTo: p.appliesto.map((id) => names.get(id) ?? `#${id}`).join(', '),
        cycles: p.cycles.join(', ') || 'All',
        dates: `${p.startdate ?? '—'} → ${p.expirationdate ?? '—'}`,
        uses: `${p.uses} / ${p.maxuses === 0 ? 'Unlimited' : p.maxuses}`,
      };
    });
    await kit.page(req, res, status, 'admin/promotions', {
      title: 'Promotions',
      active: 'promotions',
      promotions,
      products,
      cycles: CYCLES.map((c) => ({ name: c, box: cycleBox(c) })),
      error: null,
      ...extra,
    });
  }

  router.get(`/${PAGE}`, async (req, res) => {
    if (!(await kit.requireFullAdmin(req, res))) return;
    await render(req, res, 200);
  });

  router.post(`/${PAGE}`, ...kit.guard, async (req, res) => {
    const me = await kit.requireFullAdmin(req, res);
    if (!me) return;
    const type = field(res, 'type');
    if (type !== 'Percentage' && type !== 'Fixed Amount')
      return render(req, res, 400, { error: 'Choose Percentage or Fixed Amount.' });
    const ids = (await db('tblproducts').select('id'))
      .map((p) => intCell(p.id))
      .filter((id) => field(res, `product_${id}`) === 'on');
    const date = (name: string) => field(res, name).trim();
    const maxuses = field(res, 'maxuses').trim();
    if (maxuses !== '' && !/^\d{1,9}$/.test(maxuses))
      return render(req, res, 400, { error: 'Maximum uses is a whole number (0: unlimited).' });
    for (const name of ['startdate', 'expirationdate'])
      if (date(name) !== '' && !/^\d{4}-\d{2}-\d{2}$/.test(date(name)))
        return render(req, res, 400, { error: 'Dates are written YYYY-MM-DD.' });
    const code = field(res, 'code').trim();
    if (await db('tblpromotions').whereRaw('LOWER(code) = ?', [code.toLowerCase()]).first('id'))
      return render(req, res, 409, { error: `The promotion code ${code} already exists.` });
    try {
      await addPromotion(db, {
        code,
        type,
        value: field(res, 'value').trim(),
        recurring: field(res, 'recurring') === 'on',
        appliesto: ids,
        cycles: CYCLES.filter((c) => field(res, cycleBox(c)) === 'on'),
        ...(date('startdate') ? { startdate: date('startdate') } : {}),
        ...(date('expirationdate') ? { expirationdate: date('expirationdate') } : {}),
        maxuses: maxuses === '' ? 0 : Number(maxuses),
      });
    } catch (err) {
      if (err instanceof RangeError) return render(req, res, 400, { error: err.message });
      throw err;
    }
    await ctx.panel.core.activity({
      description: `Promotion Created - Code: ${code}`,
      user: me.username,
      ipaddr: clientIp(req, ctx.panel.trustProxy),
    });
    kit.flash(req, res, 'success', `Promotion ${code} added.`);
    return res.redirect(303, kit.to(req, PAGE));
  });
}
