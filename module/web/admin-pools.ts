import { invalidInput } from '../domain/errors.js';
import { formatAmount, formatDay, formatPeriod, formatSoldBytes } from '../domain/line-text.js';
import { percentUsed } from '../domain/thresholds.js';
import type { Actor } from '../adapters/audit-store.js';
import type { Listed } from '../adapters/rows.js';
import type { BillingProfile, BillingSettingsService } from '../services/billing-settings.js';
import type { CapService, ListedCap } from '../services/caps.js';
import type { PoolPeriodView, PoolService } from '../services/pools.js';
import type { UpgradeOutcomeRow } from '../services/upgrades.js';
import { idCursor } from '../services/usage-reads.js';
import { ADMIN_LOCALE, orUnreadable, type Href } from './present-admin.js';
import { ADMIN_FLASH, ADMIN_STATE } from './admin-words.js';

/**
 * The admin tab's "Pools & caps" page: transfer pools as they stand this month and their rated
 * months, which products pool (set here: the pool's name and whether it bills one line or a line
 * per VPS), the caps clients chose (an admin may set one for a client or lift it), and upgrade
 * suggestions with what came of them. Every value goes to the page as text: the view escapes it.
 */
export interface PoolsPageDeps {
  pools?: PoolService | undefined;
  caps?: { service: CapService; applyNow(): Promise<unknown> } | undefined;
  upgrades?: { outcomes(opts?: { limit?: number }): Promise<Array<Listed<UpgradeOutcomeRow>>> } | undefined;
  billing: BillingSettingsService;
  /** the client a service belongs to (NOT_FOUND for one the module does not meter) */
  clientOf(serviceId: number): Promise<number>;
  productNames(): Promise<Map<number, string>>;
}

type Flash = { kind: 'success' | 'error'; text: string };

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
// a pool is rated in GB (pools.ts: per unit or per block of GB); 2 decimals, as the client reads it
const bytes = (b: bigint) => formatSoldBytes(b, 'GB', ADMIN_LOCALE);
const day = (iso: string | undefined | null) => (iso ? formatDay(iso.slice(0, 10), ADMIN_LOCALE) : '');

/** A rated pool month with each member's share and part, in words. */
function ratedMonth(p: PoolPeriodView & { clientId: number }) {
  return {
    clientId: p.clientId,
    pool: p.pool,
    month: formatPeriod(p.start, p.end, ADMIN_LOCALE),
    hours: p.periodHours,
    allowance: bytes(p.allowanceBytes),
    used: bytes(p.usedBytes),
    over: bytes(p.overBytes),
    amount: formatAmount(p.amountMinor, p.currency, ADMIN_LOCALE),
    members: p.members.map((m) => ({
      serviceId: m.serviceId,
      hours: m.hours,
      share: bytes(m.shareBytes),
      used: bytes(m.usedBytes),
      part: formatAmount(m.amountMinor, p.currency, ADMIN_LOCALE),
    })),
  };
}

/** What the page shows. */
export async function poolsPage(deps: PoolsPageDeps, href: Href): Promise<Record<string, unknown>> {
  const [standing, rated, products, names, caps, upgrades] = await Promise.all([
    deps.pools ? deps.pools.standing() : new Map(),
    deps.pools ? deps.pools.recentPeriods(50) : [],
    deps.billing.listProducts(),
    deps.productNames(),
    deps.caps ? deps.caps.service.list({ limit: 200 }) : [],
    deps.upgrades ? deps.upgrades.outcomes({ limit: 100 }) : [],
  ]);
  const name = (id: number) => names.get(id) ?? `product ${id}`;
  return {
    action: href({ a: 'pools' }),
    now: [...new Set(standing.values())].map((s) => ({
      clientId: s.clientId,
      pool: s.pool,
      month: formatPeriod(s.start, s.end, ADMIN_LOCALE),
      members: s.memberIds.map((id: number) => ({ serviceId: id, href: href({ a: 'service', id }) })),
      allowance: bytes(s.allowanceBytes),
      used: bytes(s.usedBytes),
      percent: `${percentUsed(s.usedBytes, s.allowanceBytes) ?? '—'} %`,
      asOf: day(s.asOf),
    })),
    // a month that cannot be read is named in its place (admin.row_unreadable logged), the others as usual
    rated: rated.map(orUnreadable(ratedMonth)),
    pooled: products
      .filter((p) => p.profile.pool !== undefined)
      .map((p) => ({
        productId: p.productId,
        name: name(p.productId),
        pool: p.profile.pool,
        lines: p.profile.poolLines === 'per_service' ? 'a line per VPS' : 'one line on the pool',
      })),
    choices: products
      .filter((p) => p.profile.model === 'per_unit' || p.profile.model === 'per_block')
      .map((p) => ({
        id: p.productId,
        name: name(p.productId),
        pool: p.profile.pool ?? '',
        lines: p.profile.poolLines,
      })),
    caps: caps.map(presentCap),
    // one whose row cannot be read is named in its place (admin.row_unreadable logged)
    upgrades: upgrades.map(orUnreadable((u: UpgradeOutcomeRow) => upgradeRow(u, name))),
  };
}

/** A service's upgrade suggestion and what came of it, in words. */
function upgradeRow(u: UpgradeOutcomeRow, name: (id: number) => string) {
  return {
    serviceId: u.serviceId,
    clientId: u.clientId,
    suggested: u.suggestion
      ? `${ADMIN_STATE.suggestion[u.suggestion.status] ?? u.suggestion.status}, ${day(u.suggestion.suggestedAt)}`
      : '—',
    outcome: u.upgrade
      ? `to ${name(u.upgrade.toProductId)} on ${day(u.upgrade.requestedOn)}${u.upgrade.creditPercent ? `, ${u.upgrade.creditPercent} % of the overusage credited` : ''}${u.upgrade.invoiceId ? `, invoice #${u.upgrade.invoiceId}` : ''}`
      : 'not taken up',
  };
}

/** One POST of the page; null when the action is not this page's. */
export async function actOnPools(
  deps: PoolsPageDeps,
  action: string,
  body: Record<string, unknown>,
  actor: Actor,
): Promise<{ flash: Flash; goTo: 'pools' } | null> {
  switch (action) {
    case 'save_pool': {
      const productId = idCursor(str(body.product), 'product');
      if (productId === null) throw invalidInput('Which product? Choose one.');
      const stored = await deps.billing.getProduct(productId);
      if (!stored)
        throw invalidInput(`Product ${productId} is not billed yet: set its billing first (Settings).`);
      const pool = str(body.pool).trim();
      const lines = str(body.lines) || 'one';
      if (lines !== 'one' && lines !== 'per_service')
        throw invalidInput('bill a pool as one line or as a line per VPS');
      const { pool: _old, ...rest } = stored;
      const settings: BillingProfile = {
        ...rest,
        poolLines: lines,
        ...(pool ? { pool } : {}),
      } as BillingProfile;
      await deps.billing.setProduct(productId, settings as never, actor);
      const name = (await deps.productNames()).get(productId) ?? `product ${productId}`;
      return {
        flash: {
          kind: 'success',
          text: pool ? ADMIN_FLASH.pooled(name, pool, lines === 'per_service') : ADMIN_FLASH.unpooled(name),
        },
        goTo: 'pools',
      };
    }
    case 'set_cap':
    case 'lift_cap': {
      if (!deps.caps) throw invalidInput('caps are not available here');
      const serviceId = idCursor(str(body.service), 'service');
      if (serviceId === null) throw invalidInput('Which service? Give its id.');
      const clientId = await deps.clientOf(serviceId);
      if (action === 'lift_cap') {
        const lifted = await deps.caps.service.lift(clientId, serviceId, actor);
        await deps.caps.applyNow();
        return {
          flash: {
            kind: 'success',
            text: lifted ? ADMIN_FLASH.capLifted(serviceId) : ADMIN_FLASH.noCap(serviceId),
          },
          goTo: 'pools',
        };
      }
      const cap = await deps.caps.service.set(
        clientId,
        serviceId,
        { kind: str(body.kind), amount: str(body.amount), action: str(body.cap_action) },
        actor,
      );
      await deps.caps.applyNow();
      const amount =
        cap.kind === 'money'
          ? formatAmount(cap.amount, cap.currency ?? 'EUR', ADMIN_LOCALE)
          : bytes(cap.amount);
      return {
        flash: { kind: 'success', text: ADMIN_FLASH.capSet(amount, serviceId, cap.action) },
        goTo: 'pools',
      };
    }
    default:
      return null;
  }
}

/** A cap of the list as the page shows it; one that cannot be read in its place. */
const presentCap = orUnreadable((c: ListedCap) => ({
  id: c.id,
  clientId: c.clientId,
  serviceId: c.serviceId,
  amount:
    c.kind === 'money'
      ? formatAmount(c.amount, c.currency ?? 'EUR', ADMIN_LOCALE)
      : `${bytes(c.amount)} over the allowance`,
  action: ADMIN_STATE.capAction[c.action] ?? c.action,
  status: c.status,
  setOn: day(c.setAt.toISO()),
  liftedOn: c.liftedAt ? day(c.liftedAt.toISO()) : '',
}));
