import path from 'node:path';
import ejs from 'ejs';
import type { Knex } from 'knex';
import type { Clock } from '../domain/clock.js';
import { displayUnit, formatByteAmount, formatPeriod, localeForClient, textLanguage } from '../domain/line-text.js';
import type { SoldUnit } from '../domain/usage-rating.js';
import type { Logger } from '../adapters/logger.js';
import type { PanelApi } from '../adapters/panel-api.js';
import { sqlInstant, toBig, toNum } from '../adapters/rows.js';
import type { BillingSettingsService } from './billing-settings.js';
import type { Outbox, OutboxEmail } from './outbox.js';
import type { UpgradeService } from './upgrades.js';
import { formatMoney } from '../domain/money.js';

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

export function createUpgradeSuggestionService(deps: { knex: Knex; clock: Clock; panel: PanelApi; billing: BillingSettingsService; log: Logger; outbox: Outbox; upgrades?: UpgradeService }): UpgradeSuggestionService {
  const { knex } = deps;
  return {
    async run() {
      const profileFor = await deps.billing.snapshot();
      // Services whose latest rated period was over: only they can be on a streak.
      const latest = await knex('mod_overusage_charges as c')
        .whereIn('c.status', ['unbilled', 'billed', 'written_off'])
        .andWhere('c.over_bytes', '>', 0)
        .andWhere('c.seq', 0)
        .whereNotExists(knex('mod_overusage_charges as n').whereRaw('n.service_id = c.service_id').andWhere('n.seq', 0).andWhereRaw('n.period_start > c.period_start'))
        .select('c.service_id', 'c.client_id', 'c.product_id', 'c.period_id');
      let suggested = 0;
      let failed = 0;
      for (const l of latest) {
        const serviceId = toNum(l.service_id);
        const profile = profileFor(toNum(l.product_id), serviceId, toNum(l.client_id));
        if (!profile) continue;
        const n = profile.upgradeAfterPeriods;
        const recent = await knex('mod_overusage_charges').where({ service_id: serviceId, seq: 0 }).orderBy('period_start', 'desc').limit(n).select('period_id', 'period_start', 'period_end', 'used_bytes', 'allowance_bytes', 'over_bytes', 'status');
        if (recent.length < n || !recent.every((c) => toBig(c.over_bytes) > 0n && c.status !== 'not_billed')) continue;
        const key = `period:${toNum(l.period_id)}`;
        const now = sqlInstant(deps.clock.now());
        await knex(NOTICES).insert({ service_id: serviceId, client_id: toNum(l.client_id), kind: 'upgrade_suggestion', notice_key: key, status: 'pending', created_at: now }).onConflict(['service_id', 'kind', 'notice_key']).ignore();
        const notice = await knex(NOTICES).where({ service_id: serviceId, kind: 'upgrade_suggestion', notice_key: key }).first();
        if (notice.status === 'sent') continue;
        try {
          const emails = await compose(toNum(notice.id), serviceId, toNum(l.client_id), profile.unit as SoldUnit, recent.reverse());
          // decided and told in one step: the emails go to the outbox with the notice's new state
          await knex.transaction(async (trx) => {
            await deps.outbox.enqueue(trx, emails);
            await trx(NOTICES).where({ id: notice.id }).update({ status: 'sent', sent_at: sqlInstant(deps.clock.now()) });
          });
          await deps.panel.logActivity(`Overusage: suggested a bigger plan for service ${serviceId} (${recent.length} periods over the allowance in a row)`, toNum(l.client_id)).catch(() => {});
          suggested++;
        } catch (err) {
          failed++;
          await knex(NOTICES).where({ id: notice.id }).update({ status: 'failed', details: (err as Error).message.slice(0, 500) });
          deps.log.warn('upgrade_suggestion.failed', { serviceId, error: (err as Error).message });
        }
      }
      if (suggested) await deps.outbox.drain().catch((err: unknown) => deps.log.warn('upgrade_suggestion.outbox_failed', { error: (err as Error).message }));
      return { suggested, failed };
    },
  };

  async function compose(noticeId: number, serviceId: number, clientId: number, unit: SoldUnit, rows: Array<Record<string, unknown>>): Promise<OutboxEmail[]> {
    const client = await deps.panel.getClientsDetails(clientId);
    const { products } = await deps.panel.getClientsProducts({ serviceId });
    const domain = products[0]?.domain || `#${serviceId}`;
    const company = await deps.panel.getConfigurationValue('CompanyName').catch(() => '');
    // the money: the cheapest bigger plan over these periods against what they cost (none when the panel lists no prices)
    const figures = deps.upgrades ? await deps.upgrades.figures(serviceId, clientId).catch(() => null) : null;
    const best = figures?.offers[0] ?? null;
    const money = (minor: bigint, locale: string) => formatMoney({ amountMinor: minor, currency: figures!.currency }, locale);
    const render = async (locale: string) => {
      const lang = textLanguage(locale);
      const shown = displayUnit(unit);
      const html = await ejs.renderFile(TEMPLATE, {
        lang,
        firstName: client.firstName,
        domain,
        periods: rows.length,
        company,
        offer: best ? { name: best.name, would: money(best.totalMinor, locale), paid: money(figures!.currentMinor, locale), months: figures!.periods } : null,
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
        html: `<p>Service #${serviceId} (${domain}) of ${client.firstName} ${client.lastName} was over its allowance in each of the last ${rows.length} periods. The client was sent this suggestion:</p>${forAdmin.html}`,
      },
    ];
  }
}
