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

export function createUpgradeSuggestionService(deps: { knex: Knex; clock: Clock; panel: PanelApi; billing: BillingSettingsService; log: Logger }): UpgradeSuggestionService {
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
          await send(serviceId, toNum(l.client_id), profile.unit as SoldUnit, recent.reverse());
          await knex(NOTICES).where({ id: notice.id }).update({ status: 'sent', sent_at: sqlInstant(deps.clock.now()) });
          suggested++;
        } catch (err) {
          failed++;
          await knex(NOTICES).where({ id: notice.id }).update({ status: 'failed', details: (err as Error).message.slice(0, 500) });
          deps.log.warn('upgrade_suggestion.failed', { serviceId, error: (err as Error).message });
        }
      }
      return { suggested, failed };
    },
  };

  async function send(serviceId: number, clientId: number, unit: SoldUnit, rows: Array<Record<string, unknown>>): Promise<void> {
    const client = await deps.panel.getClientsDetails(clientId);
    const { products } = await deps.panel.getClientsProducts({ serviceId });
    const domain = products[0]?.domain || `#${serviceId}`;
    const company = await deps.panel.getConfigurationValue('CompanyName').catch(() => '');
    const render = async (locale: string) => {
      const lang = textLanguage(locale);
      const shown = displayUnit(unit);
      const html = await ejs.renderFile(TEMPLATE, {
        lang,
        firstName: client.firstName,
        domain,
        periods: rows.length,
        company,
        rows: rows.map((r) => ({
          period: formatPeriod(String(r.period_start), String(r.period_end), locale),
          used: formatByteAmount(toBig(r.used_bytes), shown, locale),
          included: formatByteAmount(toBig(r.allowance_bytes), shown, locale),
        })),
      });
      return { lang, html };
    };
    const forClient = await render(localeForClient(client.language));
    await deps.panel.sendEmail({
      customType: 'product',
      customSubject: forClient.lang === 'nl' ? `Een groter pakket voor ${domain}?` : `A bigger plan for ${domain}?`,
      customMessage: forClient.html,
      id: serviceId,
    });
    const forAdmin = await render('en-GB');
    await deps.panel.sendAdminEmail({
      customSubject: `Overusage: ${client.firstName} ${client.lastName} (${domain}) was over the allowance ${rows.length} periods in a row`,
      customMessage: `<p>Service #${serviceId} (${domain}) of ${client.firstName} ${client.lastName} was over its allowance in each of the last ${rows.length} periods. The client was sent this suggestion:</p>${forAdmin.html}`,
    });
    await deps.panel.logActivity(`Overusage: suggested a bigger plan for service ${serviceId} (${rows.length} periods over the allowance in a row)`, clientId);
  }
}
