import { retryTransaction } from '../adapters/sql-helpers.js';
import path from 'node:path';
import ejs from 'ejs';
import type { Knex } from 'knex';
import type { Clock } from '../domain/clock.js';
import {
  displayUnit,
  formatByteAmount,
  formatPeriod,
  localeForClient,
  textLanguage,
} from '../domain/line-text.js';
import type { SoldUnit } from '../domain/usage-rating.js';
import type { Logger } from '../adapters/logger.js';
import type { PanelApi } from '../adapters/panel-api.js';
import { sqlInstant, toBig, toNum } from '../adapters/rows.js';
import type { BillingSettingsService } from './billing-settings.js';
import type { Outbox, OutboxEmail } from './outbox.js';
import type { UpgradeService } from './upgrades.js';
import { formatMoney } from '../domain/money.js';
import { escapeHtml } from '../domain/html.js';

const TEMPLATE = path.resolve(import.meta.dirname, '..', '..', 'views', 'email', 'upgrade-suggestion.ejs');
const NOTICES = 'mod_overusage_notices';

/**
 * A service over its allowance N periods in a row (per product, default 3) gets a suggestion to
 * move to a bigger plan, to the client and to the admin, instead of another bill after the fact.
 * Once per streak: the notice is keyed by the latest period of the streak.
 */
export interface UpgradeSuggestionService {
  run(): Promise<{ suggested: number; failed: number }>;
}

type SuggestionDeps = {
  knex: Knex;
  clock: Clock;
  panel: PanelApi;
  billing: BillingSettingsService;
  log: Logger;
  outbox: Outbox;
  upgrades?: UpgradeService;
};

export function createUpgradeSuggestionService(deps: SuggestionDeps): UpgradeSuggestionService {
  return {
    async run() {
      const profileFor = await deps.billing.snapshot();
      let suggested = 0;
      let failed = 0;
      for (const l of await latestOver(deps.knex)) {
        const serviceId = toNum(l.service_id);
        const profile = profileFor(toNum(l.product_id), serviceId, toNum(l.client_id));
        if (!profile) continue;
        const out = await suggest(
          deps,
          { serviceId, clientId: toNum(l.client_id), periodId: toNum(l.period_id) },
          profile.upgradeAfterPeriods,
          profile.unit as SoldUnit,
        );
        if (out === 'sent') suggested++;
        else if (out === 'failed') failed++;
      }
      if (suggested)
        await deps.outbox
          .drain()
          .catch((err: unknown) =>
            deps.log.warn('upgrade_suggestion.outbox_failed', { error: (err as Error).message }),
          );
      return { suggested, failed };
    },
  };
}

/** Services whose latest rated period was over: only they can be on a streak. */
function latestOver(knex: Knex): Promise<Array<Record<string, unknown>>> {
  return knex('mod_overusage_charges as c')
    .whereIn('c.status', ['unbilled', 'billed', 'written_off'])
    .andWhere('c.over_bytes', '>', 0)
    .andWhere('c.seq', 0)
    .whereNotExists(
      knex('mod_overusage_charges as n')
        .whereRaw('n.service_id = c.service_id')
        .andWhere('n.seq', 0)
        .andWhereRaw('n.period_start > c.period_start'),
    )
    .select('c.service_id', 'c.client_id', 'c.product_id', 'c.period_id');
}

/** One service: a suggestion when its last `n` periods were all over, once per streak (keyed by its latest period). */
async function suggest(
  deps: SuggestionDeps,
  s: { serviceId: number; clientId: number; periodId: number },
  n: number,
  unit: SoldUnit,
): Promise<'sent' | 'failed' | 'none'> {
  const { knex } = deps;
  const recent = await knex('mod_overusage_charges')
    .where({ service_id: s.serviceId, seq: 0 })
    .orderBy('period_start', 'desc')
    .limit(n)
    .select(
      'period_id',
      'period_start',
      'period_end',
      'used_bytes',
      'allowance_bytes',
      'over_bytes',
      'status',
    );
  if (recent.length < n || !recent.every((c) => toBig(c.over_bytes) > 0n && c.status !== 'not_billed'))
    return 'none';
  const key = `period:${s.periodId}`;
  const now = sqlInstant(deps.clock.now());
  await knex(NOTICES)
    .insert({
      service_id: s.serviceId,
      client_id: s.clientId,
      kind: 'upgrade_suggestion',
      notice_key: key,
      status: 'pending',
      created_at: now,
    })
    .onConflict(['service_id', 'kind', 'notice_key'])
    .ignore();
  const notice = await knex(NOTICES)
    .where({ service_id: s.serviceId, kind: 'upgrade_suggestion', notice_key: key })
    .first();
  if (notice.status === 'sent') return 'none';
  try {
    const emails = await compose(deps, toNum(notice.id), s.serviceId, s.clientId, unit, recent.reverse());
    // decided and told in one step: the emails go to the outbox with the notice's new state
    await retryTransaction(knex, async (trx) => {
      await deps.outbox.enqueue(trx, emails);
      await trx(NOTICES)
        .where({ id: notice.id })
        .update({ status: 'sent', sent_at: sqlInstant(deps.clock.now()) });
    });
    await deps.panel
      .logActivity(
        `Overusage: suggested a bigger plan for service ${s.serviceId} (${recent.length} periods over the allowance in a row)`,
        s.clientId,
      )
      .catch(() => {});
    return 'sent';
  } catch (err) {
    await knex(NOTICES)
      .where({ id: notice.id })
      .update({ status: 'failed', details: (err as Error).message.slice(0, 500) });
    deps.log.warn('upgrade_suggestion.failed', { serviceId: s.serviceId, error: (err as Error).message });
    return 'failed';
  }
}

/** The client's email in their language and the admin's copy in English, with the cheapest bigger plan's money when the panel lists prices. */
async function compose(
  deps: SuggestionDeps,
  noticeId: number,
  serviceId: number,
  clientId: number,
  unit: SoldUnit,
  rows: Array<Record<string, unknown>>,
): Promise<OutboxEmail[]> {
  const client = await deps.panel.getClientsDetails(clientId);
  const { products } = await deps.panel.getClientsProducts({ serviceId });
  const domain = products[0]?.domain || `#${serviceId}`;
  const company = await deps.panel.getConfigurationValue('CompanyName').catch(() => '');
  const figures = deps.upgrades ? await deps.upgrades.figures(serviceId, clientId).catch(() => null) : null;
  const best = figures?.offers[0] ?? null;
  const money = (minor: bigint, locale: string) =>
    formatMoney({ amountMinor: minor, currency: figures!.currency }, locale);
  const render = async (locale: string) => {
    const lang = textLanguage(locale);
    const shown = displayUnit(unit);
    const html = await ejs.renderFile(TEMPLATE, {
      lang,
      firstName: client.firstName,
      domain,
      periods: rows.length,
      company,
      offer: best
        ? {
            name: best.name,
            would: money(best.totalMinor, locale),
            paid: money(figures!.currentMinor, locale),
            months: figures!.periods,
          }
        : null,
      rows: rows.map((r) => ({
        period: formatPeriod(String(r.period_start), String(r.period_end), locale),
        used: formatByteAmount(toBig(r.used_bytes), shown, locale),
        included: formatByteAmount(toBig(r.allowance_bytes), shown, locale),
      })),
    });
    return { lang, html };
  };
  const forClient = await render(localeForClient(client.language));
  const forAdmin = await render('en-GB');
  const who = escapeHtml(`${client.firstName} ${client.lastName}`);
  return [
    {
      key: `upgrade:${noticeId}:client`,
      kind: 'upgrade_suggestion',
      to: { client: { clientId, customType: 'product', relatedId: serviceId } },
      subject: forClient.lang === 'nl' ? `Een groter pakket voor ${domain}?` : `A bigger plan for ${domain}?`,
      html: forClient.html,
    },
    {
      key: `upgrade:${noticeId}:admin`,
      kind: 'upgrade_suggestion',
      to: { admin: true },
      subject: `Overusage: ${client.firstName} ${client.lastName} (${domain}) was over the allowance ${rows.length} periods in a row`,
      // the client's name and domain are theirs to choose: escaped in the admin's HTML
      html: `<p>Service #${serviceId} (${escapeHtml(domain)}) of ${who} was over its allowance in each of the last ${rows.length} periods. The client was sent this suggestion:</p>${forAdmin.html}`,
    },
  ];
}
