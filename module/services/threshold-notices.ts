import path from 'node:path';
import ejs from 'ejs';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import type { Clock } from '../domain/clock.js';
import type { IsoDate } from '../domain/calendar.js';
import { localeForClient } from '../domain/line-text.js';
import { retryDelayMs, type LimitAction, type LimitPolicy, type LimitStatus } from '../domain/limit-policy.js';
import { decimalToString, parseDecimal } from '../domain/money.js';
import { presentThresholdNotice, presentThresholdNoticeForAdmin, type NoticePlan, type ThresholdNoticeFacts } from '../domain/threshold-text.js';
import { thresholdToNotify, type RunOut } from '../domain/thresholds.js';
import type { PricingModel, SoldUnit } from '../domain/usage-rating.js';
import type { LimitActionStore } from '../adapters/limit-action-store.js';
import type { LockStore } from '../adapters/lock-store.js';
import type { Logger } from '../adapters/logger.js';
import type { PanelApi } from '../adapters/panel-api.js';
import { sqlInstant, toInstantOrNull, toNum } from '../adapters/rows.js';
import type { BillingSettingsService } from './billing-settings.js';
import { assessUsage, type OpenUsage, type OpenUsageReader } from './open-usage.js';
import type { Outbox, OutboxEmail } from './outbox.js';

const TEMPLATE = path.resolve(import.meta.dirname, '..', '..', 'views', 'email', 'threshold-notice.ejs');
const NOTICES = 'mod_overusage_notices';
const KIND = 'threshold';
const LOCK = 'usage-watch:thresholds';
const LEASE_MS = 10 * 60_000;

/**
 * Threshold notices: when metering sees a service's open period reach a threshold of its allowance
 * (80/90/100 % by default, per product, per service), the client gets an email through the panel in
 * their language and the admin gets one too. Once per threshold per period, however often this
 * runs: each notice is a row of mod_overusage_notices keyed `period:<id>:<pct>`, written before
 * anything is sent. Several thresholds reached at once give one notice naming the highest.
 *
 * A notice remembers which of its two emails went out, so a retry after a failure sends only the
 * missing one. The figures are those of the sample that reached the threshold, kept with the
 * notice: the email says what was true then, and the widget's banner shows the same.
 */
export interface ThresholdNoticeService {
  /**
   * Decides the notices of services whose usage reached a threshold (all, or the given ones; not
   * when `decide` is false) and sends whatever is owed, retries included.
   */
  run(opts?: { serviceIds?: number[]; decide?: boolean }): Promise<ThresholdRunResult>;
  /** the latest threshold notice of the service's open period, for the widget's banner; null when none */
  bannerFor(serviceId: number): Promise<ThresholdBanner | null>;
}

export interface ThresholdRunResult {
  decided: number;
  sent: number;
  failed: number;
  /** services a product bills but whose allowance could not be told (no price in the currency, no SolusVM limit) */
  unassessed: number;
  locked: boolean;
}

export interface ThresholdBanner {
  serviceId: number;
  periodId: number;
  /** the threshold reached, and every one the notice stood for */
  pct: number;
  covers: number[];
  /** pending | sending | sent | failed */
  noticeStatus: string;
  decidedAt: string;
  asOf: IsoDate;
  periodStart: IsoDate;
  periodEnd: IsoDate | null;
  usedBytes: bigint;
  allowanceBytes: bigint;
  percentUsed: string;
  runOut: RunOut;
  projectedUsedBytes: bigint | null;
  cost: { soFarMinor: bigint; atEndMinor: bigint; currency: string } | null;
  unit: SoldUnit;
  policy: LimitPolicy['action'];
  /** the latest action at the limit in this period, if any */
  limitAction: { id: number; action: LimitAction; status: LimitStatus } | null;
}

/** The facts of a notice as stored with it (bigints as strings). */
interface StoredNotice {
  v: 1;
  pct: number;
  covers: number[];
  periodId: number;
  periodStart: IsoDate;
  periodEnd: IsoDate | null;
  asOf: IsoDate;
  usedBytes: string;
  allowanceBytes: string;
  percentUsed: string;
  projection: { daysElapsed: number; daysInPeriod: number | null; dailyAverageBytes: string; runOut: RunOut; projectedUsedBytes: string | null };
  cost: { soFarMinor: string; atEndMinor: string; currency: string } | null;
  plan: { unit: SoldUnit; currency: string; rate: string; model: { kind: PricingModel['kind']; blockUnits?: number; commitMbps?: string } };
  policy: LimitPolicy;
  delivery: { attempts: number; nextAttemptAt: string | null; lastError: string | null; clientSentAt: string | null; adminSentAt: string | null; locale: string | null; subject: string | null };
}

const keyOf = (periodId: number, pct: number) => `period:${periodId}:${pct}`;
const periodOfKey = (key: string): number | null => {
  const m = /^period:(\d+):(\d+)$/.exec(key);
  return m ? Number(m[1]) : null;
};

function storeFacts(u: OpenUsage, a: NonNullable<ReturnType<typeof assessUsage>>, notice: { pct: number; covers: number[] }, policy: LimitPolicy): StoredNotice {
  const m = a.plan.model;
  return {
    v: 1,
    pct: notice.pct,
    covers: notice.covers,
    periodId: u.periodId,
    periodStart: u.shape.from,
    periodEnd: u.shape.end,
    asOf: u.asOf,
    usedBytes: u.usedBytes.toString(),
    allowanceBytes: a.allowanceBytes.toString(),
    percentUsed: a.percentUsed ?? '100.0',
    projection: {
      daysElapsed: a.projection.daysElapsed,
      daysInPeriod: a.projection.daysInPeriod,
      dailyAverageBytes: a.projection.dailyAverageBytes.toString(),
      runOut: a.projection.runOut,
      projectedUsedBytes: a.projection.projectedUsedBytes?.toString() ?? null,
    },
    cost: a.cost ? { soFarMinor: a.cost.soFarMinor.toString(), atEndMinor: a.cost.atEndMinor.toString(), currency: a.cost.currency } : null,
    plan: {
      unit: a.plan.unit,
      currency: a.plan.currency,
      rate: decimalToString(a.plan.rate),
      model: m.kind === 'per_block' ? { kind: m.kind, blockUnits: m.blockUnits } : m.kind === 'per_unit' ? { kind: m.kind } : { kind: m.kind, commitMbps: decimalToString(m.commitMbps) },
    },
    policy,
    delivery: { attempts: 0, nextAttemptAt: null, lastError: null, clientSentAt: null, adminSentAt: null, locale: null, subject: null },
  };
}

function planOf(s: StoredNotice): NoticePlan {
  const m = s.plan.model;
  let model: PricingModel;
  if (m.kind === 'per_block') model = { kind: 'per_block', blockUnits: m.blockUnits ?? 1 };
  else if (m.kind === 'avg_mbps' || m.kind === 'p95') model = { kind: m.kind, commitMbps: parseDecimal(m.commitMbps ?? '0', 'commitMbps') };
  else model = { kind: 'per_unit' };
  return { unit: s.plan.unit, currency: s.plan.currency, rate: parseDecimal(s.plan.rate, 'rate'), model };
}

function factsOf(s: StoredNotice, who: { firstName: string; domain: string; company: string }): ThresholdNoticeFacts {
  return {
    ...who,
    pct: s.pct,
    periodStart: s.periodStart,
    periodEnd: s.periodEnd,
    asOf: s.asOf,
    usedBytes: BigInt(s.usedBytes),
    allowanceBytes: BigInt(s.allowanceBytes),
    percentUsed: s.percentUsed,
    projection: {
      daysElapsed: s.projection.daysElapsed,
      daysInPeriod: s.projection.daysInPeriod,
      dailyAverageBytes: BigInt(s.projection.dailyAverageBytes),
      runOut: s.projection.runOut,
      projectedUsedBytes: s.projection.projectedUsedBytes === null ? null : BigInt(s.projection.projectedUsedBytes),
    },
    cost: s.cost ? { soFarMinor: BigInt(s.cost.soFarMinor), atEndMinor: BigInt(s.cost.atEndMinor), currency: s.cost.currency } : null,
    plan: planOf(s),
    policy: s.policy,
  };
}

// The panel reads {…} in a custom message as merge fields: none of our text may look like one.
const noMergeFields = (html: string) => html.replace(/\{/g, '&#123;').replace(/\}/g, '&#125;');

export function createThresholdNoticeService(deps: {
  knex: Knex;
  clock: Clock;
  panel: PanelApi;
  billing: BillingSettingsService;
  usage: OpenUsageReader;
  limits: LimitActionStore;
  locks: LockStore;
  log: Logger;
  owner: string;
  outbox: Outbox;
}): ThresholdNoticeService {
  const { knex } = deps;

  async function noticesOf(serviceIds: readonly number[]): Promise<Array<Record<string, unknown>>> {
    const out: Array<Record<string, unknown>> = [];
    for (let i = 0; i < serviceIds.length; i += 500) {
      out.push(...(await knex(NOTICES).where({ kind: KIND }).whereIn('service_id', serviceIds.slice(i, i + 500)).select('id', 'service_id', 'notice_key', 'status', 'details')));
    }
    return out;
  }

  /** Sends what a notice still lacks; the claim (pending|failed → sending) keeps two runs from sending it both. */
  async function deliver(id: number): Promise<'sent' | 'failed' | 'skipped'> {
    const claimed = await knex(NOTICES).where({ id }).whereIn('status', ['pending', 'failed']).update({ status: 'sending' });
    if (claimed !== 1) return 'skipped';
    const row = await knex(NOTICES).where({ id }).first();
    const stored = JSON.parse(String(row.details)) as StoredNotice;
    const d = stored.delivery;
    const serviceId = toNum(row.service_id);
    const clientId = toNum(row.client_id);
    try {
      const client = await deps.panel.getClientsDetails(clientId);
      const { products } = await deps.panel.getClientsProducts({ serviceId });
      const domain = products[0]?.domain || `#${serviceId}`;
      const company = await deps.panel.getConfigurationValue('CompanyName').catch(() => '');
      const who = { firstName: client.firstName, domain, company };
      const facts = factsOf(stored, who);
      const emails: OutboxEmail[] = [];
      const at = deps.clock.now().toISO();
      if (!d.clientSentAt) {
        const locale = localeForClient(client.language);
        const text = presentThresholdNotice(facts, locale);
        const html = noMergeFields(await ejs.renderFile(TEMPLATE, { text }));
        emails.push({ key: `threshold:${id}:client`, kind: 'threshold', to: { client: { clientId, customType: 'product', relatedId: serviceId } }, subject: text.subject, html });
        d.clientSentAt = at;
        d.locale = locale;
        d.subject = text.subject;
      }
      if (!d.adminSentAt) {
        const clientName = `${client.firstName} ${client.lastName}`.trim();
        const admin = presentThresholdNoticeForAdmin({ ...facts, clientName, serviceId });
        const copy = presentThresholdNotice(facts, 'en-GB');
        const html = noMergeFields(`<p>${ejs.escapeXML(admin.summary)}</p><p>The client was sent this notice:</p>${await ejs.renderFile(TEMPLATE, { text: copy })}`);
        emails.push({ key: `threshold:${id}:admin`, kind: 'threshold', to: { admin: true }, subject: admin.subject, html });
        d.adminSentAt = at;
      }
      // the notice is told once: its emails go to the outbox with it, and the outbox sends them
      await knex.transaction(async (trx) => {
        await deps.outbox.enqueue(trx, emails);
        await trx(NOTICES).where({ id }).update({ status: 'sent', sent_at: sqlInstant(deps.clock.now()), details: JSON.stringify(stored) });
      });
      await deps.panel.logActivity(`Overusage: service ${serviceId} reached ${stored.pct}% of its traffic allowance; client and admin told`, clientId).catch(() => {});
      return 'sent';
    } catch (err) {
      d.attempts++;
      d.lastError = (err as Error).message.slice(0, 500);
      d.nextAttemptAt = deps.clock.now().plus({ milliseconds: retryDelayMs(d.attempts) }).toISO();
      await knex(NOTICES).where({ id }).update({ status: 'failed', details: JSON.stringify(stored) });
      deps.log.warn('threshold_notice.failed', { serviceId, notice: row.notice_key, attempt: d.attempts, error: d.lastError });
      return 'failed';
    }
  }

  return {
    async run(opts = {}) {
      const result: ThresholdRunResult = { decided: 0, sent: 0, failed: 0, unassessed: 0, locked: false };
      const lease = await deps.locks.acquire(LOCK, deps.owner, LEASE_MS);
      if (!lease.acquired) return { ...result, locked: true };
      const renew = setInterval(() => void deps.locks.renew(LOCK, deps.owner, LEASE_MS).catch(() => {}), LEASE_MS / 3);
      renew.unref();
      try {
        // We hold the lease, so a notice still 'sending' was left by a run that stopped mid-way: it is
        // owed (its delivery record says which email, if any, already went).
        await knex(NOTICES).where({ kind: KIND, status: 'sending' }).update({ status: 'failed' });
        const profileFor = await deps.billing.snapshot();
        const openPeriods = new Map<number, number>();
        const toSend: number[] = [];
        const pages: AsyncIterable<OpenUsage[]> =
          opts.decide === false
            ? (async function* () {})()
            : opts.serviceIds
              ? (async function* () {
                  yield [...(await deps.usage.some(opts.serviceIds!)).values()];
                })()
              : deps.usage.pages();
        for await (const page of pages) {
          const candidates: Array<{ u: OpenUsage; a: NonNullable<ReturnType<typeof assessUsage>>; policy: LimitPolicy }> = [];
          for (const u of page) {
            openPeriods.set(u.serviceId, u.periodId);
            const profile = profileFor(u.productId, u.serviceId, u.clientId);
            if (!profile) continue;
            const a = assessUsage(u, profile);
            if (!a) {
              result.unassessed++;
              continue;
            }
            if (a.crossed.length) candidates.push({ u, a, policy: profile.limitPolicy });
          }
          if (!candidates.length) continue;
          const told = new Map<number, number[]>();
          for (const n of await noticesOf(candidates.map((c) => c.u.serviceId))) {
            const sid = toNum(n.service_id);
            if (periodOfKey(String(n.notice_key)) !== openPeriods.get(sid)) continue;
            const covers = (JSON.parse(String(n.details ?? '{}')) as Partial<StoredNotice>).covers ?? [];
            told.set(sid, [...(told.get(sid) ?? []), ...covers]);
          }
          for (const { u, a, policy } of candidates) {
            const notice = thresholdToNotify(a.crossed, told.get(u.serviceId) ?? []);
            if (!notice) continue;
            const key = keyOf(u.periodId, notice.pct);
            const now = sqlInstant(deps.clock.now());
            // the row is written before anything is sent: however often this runs, one notice
            await knex(NOTICES)
              .insert({ service_id: u.serviceId, client_id: u.clientId, kind: KIND, notice_key: key, status: 'pending', details: JSON.stringify(storeFacts(u, a, notice, policy)), created_at: now })
              .onConflict(['service_id', 'kind', 'notice_key'])
              .ignore();
            const row = await knex(NOTICES).where({ service_id: u.serviceId, kind: KIND, notice_key: key }).first('id', 'status');
            if (row.status === 'pending') {
              result.decided++;
              toSend.push(toNum(row.id));
            }
          }
        }

        // Notices still owed from earlier runs (the panel failed, or a run stopped mid-way), while their period is open and none higher was told.
        const owed = await knex(NOTICES).where({ kind: KIND }).whereIn('status', ['pending', 'failed']).select('id', 'service_id', 'notice_key', 'details');
        const now = deps.clock.now();
        if (owed.length) {
          const current = opts.serviceIds ? openPeriods : new Map([...(await deps.usage.some([...new Set(owed.map((o) => toNum(o.service_id)))]))].map(([sid, u]) => [sid, u.periodId]));
          for (const o of owed) {
            const id = toNum(o.id);
            if (toSend.includes(id)) continue;
            const sid = toNum(o.service_id);
            const period = periodOfKey(String(o.notice_key));
            if (!current.has(sid)) continue;
            const stored = JSON.parse(String(o.details)) as StoredNotice;
            if (period !== current.get(sid)) {
              await knex(NOTICES).where({ id }).whereIn('status', ['pending', 'failed']).update({ status: 'expired' });
              continue;
            }
            const due = stored.delivery.nextAttemptAt === null || DateTime.fromISO(stored.delivery.nextAttemptAt) <= now;
            if (due) toSend.push(id);
          }
        }
        // a higher notice of the same period makes a lower one that was never sent pointless
        for (const id of toSend) {
          const row = await knex(NOTICES).where({ id }).first('service_id', 'notice_key');
          const [, period, pct] = /^period:(\d+):(\d+)$/.exec(String(row.notice_key)) ?? [];
          const higher = await knex(NOTICES)
            .where({ service_id: row.service_id, kind: KIND })
            .andWhere('notice_key', 'like', `period:${period}:%`)
            .whereIn('status', ['pending', 'sending', 'sent', 'failed'])
            .select('notice_key');
          if (higher.some((h) => Number(String(h.notice_key).split(':')[2]) > Number(pct))) {
            await knex(NOTICES).where({ id }).whereIn('status', ['pending', 'failed']).update({ status: 'superseded' });
            continue;
          }
          const out = await deliver(id);
          if (out === 'sent') result.sent++;
          else if (out === 'failed') result.failed++;
        }
        // the emails go now (and those a failure left waiting), before the policy at the limit acts on the VPS
        await deps.outbox.drain().catch((err: unknown) => deps.log.warn('threshold_notice.outbox_failed', { error: (err as Error).message }));
        return result;
      } finally {
        clearInterval(renew);
        await deps.locks.release(LOCK, deps.owner).catch(() => {});
      }
    },

    async bannerFor(serviceId) {
      const svc = await knex('mod_overusage_services').where({ service_id: serviceId }).first('open_period_id');
      if (!svc || svc.open_period_id === null) return null;
      const periodId = toNum(svc.open_period_id);
      const rows = await knex(NOTICES)
        .where({ service_id: serviceId, kind: KIND })
        .andWhere('notice_key', 'like', `period:${periodId}:%`)
        .whereNotIn('status', ['superseded', 'expired'])
        .select('notice_key', 'status', 'details', 'created_at');
      if (!rows.length) return null;
      const latest = rows.reduce((a, b) => (Number(String(b.notice_key).split(':')[2]) > Number(String(a.notice_key).split(':')[2]) ? b : a));
      const s = JSON.parse(String(latest.details)) as StoredNotice;
      const action = (await deps.limits.forService(serviceId, periodId))[0] ?? null;
      return {
        serviceId,
        periodId,
        pct: s.pct,
        covers: s.covers,
        noticeStatus: String(latest.status),
        decidedAt: toInstantOrNull(latest.created_at)!.toISO()!,
        asOf: s.asOf,
        periodStart: s.periodStart,
        periodEnd: s.periodEnd,
        usedBytes: BigInt(s.usedBytes),
        allowanceBytes: BigInt(s.allowanceBytes),
        percentUsed: s.percentUsed,
        runOut: s.projection.runOut,
        projectedUsedBytes: s.projection.projectedUsedBytes === null ? null : BigInt(s.projection.projectedUsedBytes),
        cost: s.cost ? { soFarMinor: BigInt(s.cost.soFarMinor), atEndMinor: BigInt(s.cost.atEndMinor), currency: s.cost.currency } : null,
        unit: s.plan.unit,
        policy: s.policy.action,
        limitAction: action ? { id: action.id, action: action.action, status: action.status } : null,
      };
    },
  };
}
