import { retryTransaction } from '../adapters/sql-helpers.js';
import type { Knex } from 'knex';
import { z } from 'zod';
import type { Clock } from '../domain/clock.js';
import { parseByteAmount } from '../domain/bytes.js';
import { invalidInput, ModuleError } from '../domain/errors.js';
import { assertCurrency, parseDecimal, parseMoney, RATE_SCALE } from '../domain/money.js';
import { validateWindow, type ReclamationWindow } from '../domain/reclamation-deadline.js';
import type { PricingModel, RatingPlan, SoldUnit } from '../domain/usage-rating.js';
import {
  createBillingSettingsStore,
  type BillingSettingsStore,
  type SettingsScope,
  type StoredSettings,
} from '../adapters/billing-settings-store.js';
import type { Actor, AuditLog } from '../adapters/audit-store.js';
import type { SetAside, UnreadableRow } from '../adapters/rows.js';
import { boundedMemo } from '../domain/bounded-memo.js';

/** The most bytes a rating's BIGINT columns (allowance_bytes, …) hold, on SQLite and MariaDB. */
const MOST_BYTES = 2n ** 63n - 1n;

/**
 * How a panel product bills overusage, with per-service and per-client overrides. Stored as
 * validated JSON; bytes and money as strings, parsed once into exact values when a plan is built.
 */
const bytesOf = (v: string | number, ctx: z.RefinementCtx): string => {
  try {
    const bytes = parseByteAmount(String(v));
    // beyond it a rating would be stored as another figure (SQLite) or not at all (MariaDB)
    if (bytes > MOST_BYTES)
      throw new Error(`"${v}" is more than the ${MOST_BYTES} bytes (about 9.2 EB) a figure may be`);
    return bytes.toString();
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
};
const byteText = z.union([z.string(), z.number().int().nonnegative()]).transform(bytesOf);
/** bytes, or "solusvm" for the limit SolusVM applies; one schema, so a refusal keeps its words (a union's is "Invalid input") */
const allowanceText = z
  .union([z.string(), z.number().int().nonnegative()])
  .transform((v, ctx) => (v === 'solusvm' ? 'solusvm' : bytesOf(v, ctx)));

/** a decimal as text; a JSON number is taken too ("commitMbps": 2), as its shortest decimal text */
const decimalText = z
  .union([z.string(), z.number().finite()])
  .transform((v) => (typeof v === 'number' ? String(v) : v));

const rateText = decimalText.refine((s) => {
  try {
    parseDecimal(s, 'rate', RATE_SCALE);
    return true;
  } catch {
    return false;
  }
}, `must be a decimal with at most ${RATE_SCALE} decimals, like "0.50"`);

const priceSchema = z
  .object({
    overage: rateText,
    /** the rate agreed in advance: what a dispute may re-rate to */
    precommit: rateText.optional(),
    minimum: decimalText.optional(),
    cap: decimalText.optional(),
  })
  .strict();

const windowSchema = z
  .object({
    days: z.number().int().min(1).max(365),
    counting: z.enum(['calendar', 'business']),
    holidays: z.enum(['none', 'BE', 'NL']),
  })
  .strict();

/** Percentages of the allowance at which the client and the admin are told (module/domain/thresholds.ts). */
const thresholdsSchema = z
  .array(z.number().int().min(1).max(1000))
  .min(1)
  .max(20)
  .transform((list) => [...new Set(list)].sort((a, b) => a - b));

/** What happens at 100 % of the allowance (module/domain/limit-policy.ts). */
const limitPolicySchema = z
  .object({
    action: z.enum(['bill', 'throttle', 'suspend']).default('bill'),
    /** SolusVM 1: the customnspeed sent (its unit is undocumented; believed Mbit/s); SolusVM 2: in/out bandwidth in Mbit/s */
    throttleMbps: z.number().int().min(1).max(100_000).optional(),
    /** SolusVM 1: the customnspeed that lifts the throttle (default 0, no limit) */
    restoreMbps: z.number().int().min(0).max(100_000).optional(),
    /** SolusVM 2: resize to this plan to throttle (its own limits), instead of the server's plan with custom limits */
    throttlePlanId: z.number().int().min(1).optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.action === 'throttle' && !p.throttleMbps && !p.throttlePlanId) {
      ctx.addIssue({
        code: 'custom',
        path: ['throttleMbps'],
        message: 'throttle needs throttleMbps (SolusVM 1 and 2) or throttlePlanId (SolusVM 2)',
      });
    }
  });

export type LimitPolicySettings = z.output<typeof limitPolicySchema>;

export const profileSchema = z
  .object({
    enabled: z.boolean().default(true),
    unit: z.enum(['GB', 'GiB', 'TB', 'TiB']),
    model: z.enum(['per_unit', 'per_block', 'avg_mbps', 'p95']).default('per_unit'),
    blockUnits: z.number().int().min(1).optional(),
    commitMbps: rateText.optional(),
    /** bytes included per full period ("5 TB"), or "solusvm" for the limit SolusVM applies */
    allowance: allowanceText,
    tolerance: byteText.default('0'),
    prices: z
      .record(z.string().regex(/^[A-Z]{3}$/), priceSchema)
      .refine((p) => Object.keys(p).length > 0, 'give a price for at least one currency'),
    prorate: z.boolean().default(true),
    taxed: z.boolean().default(true),
    window: windowSchema.default({ days: 14, counting: 'calendar', holidays: 'BE' }),
    /** periods no renewal picks up: on the next renewal, or on an invoice of their own after some days */
    unpicked: z
      .object({ policy: z.enum(['next_renewal', 'standalone']), afterDays: z.number().int().min(0).max(366) })
      .strict()
      .default({ policy: 'standalone', afterDays: 35 }),
    /** over the allowance this many periods in a row → suggest a bigger plan */
    upgradeAfterPeriods: z.number().int().min(1).max(24).default(3),
    /** on an upgrade the client asks for, this share of the current period's overusage is credited */
    upgradeCreditPercent: z.number().int().min(0).max(100).optional(),
    /** the admin confirms the panel's own overage billing is off for this product (when the panel cannot tell) */
    panelOverageOff: z.boolean().default(false),
    /** tell the client and the admin at these percentages of the allowance, once each per period */
    thresholds: thresholdsSchema.default([80, 90, 100]),
    /** at 100 %: bill the overusage (default), throttle or suspend until the next period */
    limitPolicy: limitPolicySchema.default({ action: 'bill' }),
    /**
     * A transfer pool: a client's services of products with the same pool name share one
     * allowance per calendar month (module/domain/pools.ts); their own periods are not billed.
     */
    pool: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'a pool name is 1 to 40 lower-case letters, digits, - or _')
      .optional(),
    /**
     * How a pool's month is billed (the anchor's product decides): one line on the anchor's renewal
     * ('one'), or a line per VPS on its own renewal with its part of the charge ('per_service').
     */
    poolLines: z.enum(['one', 'per_service']).default('one'),
    /** what a client may choose as his own monthly cap (module/services/caps.ts); absent: no caps */
    clientCaps: z
      .object({
        actions: z.array(z.enum(['throttle', 'suspend'])).min(1),
        /** the speed a throttle at the cap sets (SolusVM 1 customnspeed, SolusVM 2 in/out Mbit/s) */
        throttleMbps: z.number().int().min(1).max(100_000).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.pool !== undefined && p.allowance === 'solusvm')
      ctx.addIssue({
        code: 'custom',
        path: ['allowance'],
        message: "a pooled product needs an allowance in bytes, not SolusVM's limit",
      });
    if (p.pool !== undefined && p.model !== 'per_unit' && p.model !== 'per_block')
      ctx.addIssue({
        code: 'custom',
        path: ['pool'],
        message: 'a pool is billed per unit or per block of bytes',
      });
    if (p.clientCaps?.actions.includes('throttle') && !p.clientCaps.throttleMbps)
      ctx.addIssue({
        code: 'custom',
        path: ['clientCaps', 'throttleMbps'],
        message: 'a throttle at the cap needs throttleMbps',
      });
    if (p.model === 'per_block' && !p.blockUnits)
      ctx.addIssue({ code: 'custom', path: ['blockUnits'], message: 'per_block needs blockUnits' });
    if ((p.model === 'avg_mbps' || p.model === 'p95') && !p.commitMbps)
      ctx.addIssue({ code: 'custom', path: ['commitMbps'], message: `${p.model} needs commitMbps` });
    for (const [cur, price] of Object.entries(p.prices)) {
      try {
        assertCurrency(cur);
        if (price.minimum !== undefined) parseMoney(price.minimum, cur, `prices.${cur}.minimum`);
        if (price.cap !== undefined) parseMoney(price.cap, cur, `prices.${cur}.cap`);
      } catch (e) {
        ctx.addIssue({ code: 'custom', path: ['prices', cur], message: (e as Error).message });
      }
    }
  });

export type BillingProfile = z.output<typeof profileSchema>;
export type BillingProfileInput = z.input<typeof profileSchema>;

// A service may override anything; a client only the reclamation window.
const overrideSchema = z
  .object({
    enabled: z.boolean(),
    unit: z.enum(['GB', 'GiB', 'TB', 'TiB']),
    model: z.enum(['per_unit', 'per_block', 'avg_mbps', 'p95']),
    blockUnits: z.number().int().min(1),
    commitMbps: rateText,
    allowance: allowanceText,
    tolerance: byteText,
    prices: z.record(z.string().regex(/^[A-Z]{3}$/), priceSchema),
    prorate: z.boolean(),
    taxed: z.boolean(),
    window: windowSchema,
    upgradeAfterPeriods: z.number().int().min(1).max(24),
    thresholds: thresholdsSchema,
    limitPolicy: limitPolicySchema,
  })
  .partial()
  .strict();
const clientOverrideSchema = z.object({ window: windowSchema }).strict();

export type ServiceOverride = z.output<typeof overrideSchema>;

function parseOrThrow<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  const r = schema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw invalidInput(`${what}: ${i.path.length ? i.path.join('.') + ': ' : ''}${i.message}`, {
      issues: r.error.issues.map((x) => ({ path: x.path.join('.'), message: x.message })),
    });
  }
  return r.data;
}

/** Profile + service override (+ client window): what applies to one service. */
export function effectiveProfile(
  product: BillingProfile,
  service: ServiceOverride | null,
  clientWindow: ReclamationWindow | null,
): BillingProfile {
  const merged: BillingProfile = {
    ...product,
    ...(service ?? {}),
    prices: { ...product.prices, ...(service?.prices ?? {}) },
  } as BillingProfile;
  if (clientWindow) merged.window = clientWindow;
  return parseOrThrow(profileSchema, merged, 'billing settings');
}

/** Product settings as setProduct would store them, for a preview that stores nothing. */
export function parseProductSettings(input: unknown, what: string): BillingProfile {
  return parseOrThrow(profileSchema, input, what);
}

export class PlanNotPossible extends Error {}

/** The rating plan for a currency; allowance from SolusVM when the profile says so. */
export function ratingPlan(
  p: BillingProfile,
  currency: string,
  solusvmLimitBytes: bigint | null,
): RatingPlan {
  const price = p.prices[currency];
  if (!price) throw new PlanNotPossible(`no ${currency} price is set for this product`);
  let allowanceBytes: bigint;
  if (p.allowance === 'solusvm') {
    if (solusvmLimitBytes === null)
      throw new PlanNotPossible(
        'the allowance comes from SolusVM, but SolusVM reports no limit for this server',
      );
    allowanceBytes = solusvmLimitBytes;
  } else allowanceBytes = BigInt(p.allowance);
  let model: PricingModel;
  if (p.model === 'per_block') model = { kind: 'per_block', blockUnits: p.blockUnits! };
  else if (p.model === 'avg_mbps' || p.model === 'p95')
    model = { kind: p.model, commitMbps: parseDecimal(p.commitMbps!, 'commitMbps') };
  else model = { kind: 'per_unit' };
  return {
    unit: p.unit as SoldUnit,
    model,
    allowanceBytes,
    toleranceBytes: BigInt(p.tolerance),
    rate: parseDecimal(price.overage, 'overage rate'),
    currency,
    minimumMinor: price.minimum ? parseMoney(price.minimum, currency).amountMinor : 0n,
    capMinor: price.cap ? parseMoney(price.cap, currency).amountMinor : null,
    prorate: p.prorate,
  };
}

export interface BillingSettingsService {
  setProduct(productId: number, input: BillingProfileInput, actor: Actor): Promise<BillingProfile>;
  getProduct(productId: number): Promise<BillingProfile | null>;
  listProducts(): Promise<Array<{ productId: number; profile: BillingProfile }>>;
  setServiceOverride(serviceId: number, input: ServiceOverride | null, actor: Actor): Promise<void>;
  setClientWindow(clientId: number, window: ReclamationWindow | null, actor: Actor): Promise<void>;
  /** the settings that apply to a service of a product for a client; null when the product is not billed */
  forService(productId: number, serviceId: number, clientId: number): Promise<BillingProfile | null>;
  /** forService's answer from the documents another read found (billing-settings-store.ts settingsColumns) */
  fromStored(productId: number, stored: StoredSettings): BillingProfile | null;
  /**
   * loads everything once, for batch rating; with `only`, every product's settings but the
   * overrides of those services and clients alone (a lookup outside them sees no override). With
   * `setAside`, a stored document that cannot be read is told there once and a lookup it bears on
   * (its product, service or client) throws UNEXPECTED_STATE naming its column and why (never "not
   * billed": what applies is not known), the others answer as usual; without, the snapshot refuses
   */
  snapshot(
    only?: { serviceIds: readonly number[]; clientIds: readonly number[] },
    opts?: { setAside?: SetAside },
  ): Promise<(productId: number, serviceId: number, clientId: number) => BillingProfile | null>;
}

/** A lookup whose product's, service's or client's settings cannot be read: the column and why, never the value. */
const settingsNotKnown = (u: UnreadableRow) =>
  new ModuleError(
    'UNEXPECTED_STATE',
    `the billing settings that apply cannot be read: ${u.unreadable.column ?? 'a column'} is ${u.unreadable.reason}`,
    { column: u.unreadable.column, reason: u.unreadable.reason, id: u.id },
  );

/** A service's effective settings (its product's, with the service's and the client's overrides); null when not billed. */
async function settingsForService(
  store: BillingSettingsStore,
  productId: number,
  serviceId: number,
  clientId: number,
): Promise<BillingProfile | null> {
  return settingsFromStored(productId, await store.forService(productId, serviceId, clientId));
}

function settingsFromStored(productId: number, stored: StoredSettings): BillingProfile | null {
  if (stored.product === null) return null;
  return parsedOnce(`s${JSON.stringify(stored)}`, () => {
    const product = parseOrThrow(profileSchema, stored.product, `product ${productId}`);
    const clientWindow = (stored.client as { window?: ReclamationWindow } | null)?.window ?? null;
    const eff = effectiveProfile(product, stored.service as ServiceOverride | null, clientWindow);
    return eff.enabled ? eff : null;
  });
}

// Settings parsed, by the documents they were parsed from: every delivery and rating reads the same
// few documents, and checking one again (zod) cost more than the statement that read it. Frozen,
// as callers share them; a document that fails its check is not kept (it fails each time).
const parsed = boundedMemo<BillingProfile | null>(1024);
function parsedOnce(key: string, parse: () => BillingProfile | null): BillingProfile | null {
  return parsed(key, () => {
    const p = parse();
    if (p) deepFreeze(p);
    return p;
  });
}

function deepFreeze(v: unknown): void {
  if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const x of Object.values(v)) deepFreeze(x);
}

const parseProducts = (rows: Array<{ id: number; settings: unknown }>) =>
  rows.map((r) => ({
    productId: r.id,
    profile: parsedOnce(`p${JSON.stringify(r.settings)}`, () =>
      parseOrThrow(profileSchema, r.settings, `product ${r.id}`),
    )!,
  }));

/**
 * Every product's settings and override read once, for a run that asks for thousands of services;
 * with `only`, the overrides of a few services and their clients (an InvoiceCreation delivery
 * rating its invoice's services need not read every override of a large install).
 */
async function settingsSnapshot(
  store: BillingSettingsStore,
  only?: { serviceIds: readonly number[]; clientIds: readonly number[] },
  setAside?: SetAside,
): ReturnType<BillingSettingsService['snapshot']> {
  // three reads that do not depend on each other: side by side, or one union for a few services
  const {
    product: productList,
    service: serviceList,
    client: clientList,
  } = only
    ? await store.allFor(only.serviceIds, only.clientIds, setAside)
    : await Promise.all([
        store.all('product', setAside),
        store.all('service', setAside),
        store.all('client', setAside),
      ]).then(([product, service, client]) => ({ product, service, client }));
  const unreadable = (productId: number, serviceId: number, clientId: number) =>
    productList.unreadable?.get(productId) ??
    serviceList.unreadable?.get(serviceId) ??
    clientList.unreadable?.get(clientId);
  const products = new Map(parseProducts(productList).map((p) => [p.productId, p.profile]));
  const services = new Map(serviceList.map((r) => [r.id, r.settings as ServiceOverride]));
  const clients = new Map(
    clientList.map((r) => [r.id, (r.settings as { window: ReclamationWindow }).window]),
  );
  const cache = new Map<string, BillingProfile | null>();
  return (productId, serviceId, clientId) => {
    const u = unreadable(productId, serviceId, clientId);
    if (u) throw settingsNotKnown(u);
    const product = products.get(productId);
    if (!product) return null;
    const so = services.get(serviceId) ?? null;
    const cw = clients.get(clientId) ?? null;
    // most services share their product's settings: build each combination once
    const key = so || cw ? `${productId}|${serviceId}|${clientId}` : `${productId}`;
    if (!cache.has(key)) {
      const eff = so || cw ? effectiveProfile(product, so, cw) : product;
      cache.set(key, eff.enabled ? eff : null);
    }
    return cache.get(key)!;
  };
}

export function createBillingSettingsService(deps: {
  knex: Knex;
  clock: Clock;
  audit: AuditLog;
  store?: BillingSettingsStore;
}): BillingSettingsService {
  const { knex, clock, audit } = deps;
  const store = deps.store ?? createBillingSettingsStore(knex);

  async function upsert(scope: SettingsScope, id: number, value: unknown, actor: Actor, action: string) {
    const now = clock.now();
    await retryTransaction(knex, async (trx) => {
      await store.put(trx, scope, id, value, now);
      await audit.record(
        trx,
        { actor, action, entityType: scope, entityId: id, details: { settings: value } },
        now,
      );
    });
  }

  const service: BillingSettingsService = {
    async setProduct(productId, input, actor) {
      const p = parseOrThrow(profileSchema, input, `product ${productId}`);
      await upsert('product', productId, p, actor, 'billing.product_set');
      return p;
    },
    async getProduct(productId) {
      const stored = await store.get('product', productId);
      return stored === null ? null : parseOrThrow(profileSchema, stored, `product ${productId}`);
    },
    listProducts: async () => parseProducts(await store.all('product')),
    async setServiceOverride(serviceId, input, actor) {
      const o = input === null ? null : parseOrThrow(overrideSchema, input, `service ${serviceId}`);
      await upsert('service', serviceId, o, actor, 'billing.service_override_set');
    },
    async setClientWindow(clientId, window, actor) {
      const o =
        window === null
          ? null
          : parseOrThrow(clientOverrideSchema, { window: validateWindow(window) }, `client ${clientId}`);
      await upsert('client', clientId, o, actor, 'billing.client_window_set');
    },
    forService: (productId, serviceId, clientId) => settingsForService(store, productId, serviceId, clientId),
    fromStored: settingsFromStored,
    snapshot: (only, opts) => settingsSnapshot(store, only, opts?.setAside),
  };
  return service;
}
