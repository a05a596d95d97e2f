import path from 'node:path';
import ejs from 'ejs';
import type { Clock } from '../domain/clock.js';
import { formatPeriod, formatSoldBytes, localeForClient, textLanguage } from '../domain/line-text.js';
import type { SoldUnit } from '../domain/usage-rating.js';
import type { Logger } from '../adapters/logger.js';
import type { PanelApi } from '../adapters/panel-api.js';
import type { RatedPeriod, UpgradeStore } from '../adapters/upgrade-store.js';
import { loggedError, whyUnreadable, type SetAside } from '../adapters/rows.js';
import { storedColumnOf } from '../domain/stored-value.js';
import type { BillingSettingsService } from './billing-settings.js';
import type { Outbox, OutboxEmail } from './outbox.js';
import type { UpgradeService } from './upgrades.js';
import { formatMoney } from '../domain/money.js';
import { escapeHtml } from '../domain/html.js';

const TEMPLATE = path.resolve(import.meta.dirname, '..', '..', 'views', 'email', 'upgrade-suggestion.ejs');

/**
 * A service over its allowance N periods in a row (per product, default 3) gets a suggestion to
 * move to a bigger plan, to the client and to the admin, instead of another bill after the fact.
 * Once per streak: the notice is keyed by the latest period of the streak.
 */
export interface UpgradeSuggestionService {
  run(): Promise<{ suggested: number; failed: number }>;
}

type SuggestionDeps = {
  store: UpgradeStore;
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
      let suggested = 0;
      let failed = 0;
      // a row that cannot be read leaves out its service (named to the operator), not the run
      const setAside: SetAside = (table, u) =>
        deps.log.warn('upgrade_suggestion.row_unreadable', { table, id: u.id, ...u.unreadable });
      const profileFor = await deps.billing.snapshot(undefined, { setAside });
      for (const l of await deps.store.latestOver(setAside)) {
        let profile;
        try {
          profile = profileFor(l.productId, l.serviceId, l.clientId);
        } catch (err) {
          // its billing settings cannot be read (told above): nothing is suggested for it
          if (storedColumnOf(err) === null) throw err;
          continue;
        }
        if (!profile) continue;
        const out = await suggest(
          deps,
          { serviceId: l.serviceId, clientId: l.clientId, periodId: l.periodId },
          profile.upgradeAfterPeriods,
          profile.unit as SoldUnit,
          setAside,
        ).catch((err: unknown) => {
          // its suggestion's notice row (read before anything is sent) cannot be read: this service only
          if (storedColumnOf(err) === null) throw err;
          deps.log.warn('upgrade_suggestion.row_unreadable', {
            serviceId: l.serviceId,
            ...whyUnreadable(err),
          });
          return 'none' as const;
        });
        if (out === 'sent') suggested++;
        else if (out === 'failed') failed++;
      }
      if (suggested)
        await deps.outbox
          .drain()
          .catch((err: unknown) =>
            deps.log.warn('upgrade_suggestion.outbox_failed', { ...loggedError(err) }),
          );
      return { suggested, failed };
    },
  };
}

/**
 * One service: a suggestion when its last `n` periods were all over, once per streak (keyed by its
 * latest period). One of them that cannot be read (told to `setAside`): its streak is not known,
 * nothing is suggested.
 */
async function suggest(
  deps: SuggestionDeps,
  s: { serviceId: number; clientId: number; periodId: number },
  n: number,
  unit: SoldUnit,
  setAside: SetAside,
): Promise<'sent' | 'failed' | 'none'> {
  const recent = await deps.store.ratedPeriods(s.serviceId, n, { setAside });
  if (recent.unreadable) return 'none';
  if (recent.length < n || !recent.every((c) => c.overBytes > 0n && c.status !== 'not_billed')) return 'none';
  const key = `period:${s.periodId}`;
  const notice = await deps.store.suggestionFor(
    { serviceId: s.serviceId, clientId: s.clientId, key },
    deps.clock.now(),
  );
  if (notice.status === 'sent') return 'none';
  try {
    const emails = await compose(deps, notice.id, s.serviceId, s.clientId, unit, recent.reverse());
    // decided and told in one step: the emails go to the outbox with the notice's new state
    await deps.store.transaction(async (tx, trx) => {
      await deps.outbox.enqueue(trx, emails);
      await tx.markSuggestion(notice.id, { status: 'sent', at: deps.clock.now() });
    });
    await deps.panel
      .logActivity(
        `Overusage: suggested a bigger plan for service ${s.serviceId} (${recent.length} periods over the allowance in a row)`,
        s.clientId,
      )
      .catch(() => {});
    return 'sent';
  } catch (err) {
    // a stored value that cannot be read is named by its column and why, never repeated
    const said = loggedError(err);
    const details = 'error' in said ? said.error : `${said.column}: ${said.reason}`;
    await deps.store.markSuggestion(notice.id, { status: 'failed', details });
    deps.log.warn('upgrade_suggestion.failed', { serviceId: s.serviceId, ...said });
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
  rows: RatedPeriod[],
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
        period: formatPeriod(r.periodStart, r.periodEnd, locale),
        // in the unit sold, 2 decimals, as the invoice lines say it
        used: formatSoldBytes(r.usedBytes, unit, locale),
        included: formatSoldBytes(r.allowanceBytes, unit, locale),
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
