import type { Clock } from '../domain/clock.js';
import type { PanelApi } from '../adapters/panel-api.js';

/**
 * The panel's GetProducts answer about one product, as the double-billing guard reads it, kept for
 * a minute. Every renewal a cron run makes asks about the same few products; without this each
 * delivery paid a whole GetProducts (six reads on the reference host, an API call with every
 * price in real WHMCS). A panel that does not list `overagesenabled` (WHMCS) cannot tell for any
 * product: that too is kept for a minute, so it is asked once a minute, not once a renewal. An
 * admin who switches the panel's own overage billing on is seen within the minute.
 */
export type ProductAnswers = (productId: number) => Promise<Record<string, unknown> | undefined>;

export const PRODUCT_ANSWER_TTL_MS = 60_000;

export function createProductAnswers(panel: PanelApi, clock: Clock): ProductAnswers {
  // null: the call failed
  type Answer = Promise<Record<string, unknown> | undefined | null>;
  const kept = new Map<number, { until: number; answer: Answer }>();
  let cannotTellUntil = -Infinity;
  return async (productId) => {
    const now = clock.now().toMillis();
    if (now < cannotTellUntil) return undefined;
    const hit = kept.get(productId);
    if (hit && now < hit.until) return (await hit.answer) ?? undefined;
    const entry = {
      until: now + PRODUCT_ANSWER_TTL_MS,
      answer: askPanel(panel, productId).catch(() => null),
    };
    kept.set(productId, entry);
    const got = await entry.answer;
    // a failed call is not kept: the next delivery asks again
    if (got === null) {
      if (kept.get(productId) === entry) kept.delete(productId);
      return undefined;
    }
    if (got && !('overagesenabled' in got)) cannotTellUntil = entry.until;
    return got;
  };
}

/** The product as the panel's GetProducts lists it; undefined when it does not list it. */
async function askPanel(panel: PanelApi, productId: number): Promise<Record<string, unknown> | undefined> {
  const res = await panel.call('GetProducts', { pid: productId });
  const list = (res.products as { product?: unknown } | undefined)?.product;
  return Array.isArray(list) ? (list[0] as Record<string, unknown>) : undefined;
}
