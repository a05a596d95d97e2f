import type { DateTime } from 'luxon';
import type { Logger } from '../module/adapters/logger.js';
import type { Clock } from '../module/domain/clock.js';
import type { MeteringService } from '../module/services/metering.js';
import type { SettingsService } from '../module/services/settings.js';
import { AfterCronJob } from './AfterCronJob.js';
import { DailyCronJob } from './DailyCronJob.js';
import { PreCronJob } from './PreCronJob.js';
import { InvoiceCreation } from './InvoiceCreation.js';
import { EmailPreSend } from './EmailPreSend.js';
import { PreModuleSuspend } from './PreModuleSuspend.js';
import { AddInvoiceLateFee } from './AddInvoiceLateFee.js';
import { AdminLogout } from './AdminLogout.js';
import { InvoiceCancelled } from './InvoiceCancelled.js';
import { InvoiceRefunded } from './InvoiceRefunded.js';
import type { DisputeService } from '../module/services/disputes.js';
import type { DunningShield } from '../module/services/dunning-shield.js';
import type { PanelApi } from '../module/adapters/panel-api.js';
import type { InvoiceLineService } from '../module/services/invoice-lines.js';
import type { RatedBeforeInvoicing } from '../module/services/daily-jobs.js';
import type { HookDefinition } from './hook-types.js';
import { ClientAreaHomepagePanels, type HomePanelContent } from './ClientAreaHomepagePanels.js';
import { ClientAreaProductDetailsOutput } from './ClientAreaProductDetailsOutput.js';

export interface HookDeps {
  metering: MeteringService;
  settings: SettingsService;
  clock: Clock;
  zone: string;
  log: Logger;
  /** present when the module can reach the panel's API */
  lines?: InvoiceLineService;
  /** once a day before sampling: the services to meter, from the panel */
  beforeSampling?: () => Promise<void>;
  /** rating, upgrade suggestions and other daily billing work, after the day's samples */
  dailyBilling?: () => Promise<void>;
  /** before the panel's invoices: the periods that closed and the pool months that ended, rated */
  rateBeforeInvoicing?: (samplesIn: () => Promise<boolean>) => Promise<RatedBeforeInvoicing>;
  /** work to finish on every 5-minute tick (interrupted holds and resolutions) */
  everyTick?: () => Promise<void>;
  disputes?: DisputeService;
  panel?: PanelApi;
  /** held amounts kept out of dunning (present with disputes and a panel) */
  dunning?: DunningShield;
  /** the AddInvoiceLateFee handling that failed, kept for the 5-minute sweep */
  lateFeeFailed?: (invoiceId: number, error: string, firedAt?: DateTime) => Promise<void>;
  /** the AddInvoiceLateFee correction under the sweep's lease on the invoice, audited (as of `firedAt` for a replayed hook) */
  lateFeeCorrect?: (invoiceId: number, firedAt?: DateTime) => Promise<void>;
  logActivity?: (text: string) => Promise<void>;
  /**
   * threshold notices and the policy at the limit: after each collect (`collected`), and on other
   * ticks for what is due (retries with backoff, lifts)
   */
  watchUsage?: (ran: { collected: boolean }) => Promise<void>;
  /** the admin's login session ended: its session-bound web tokens are revoked */
  revokeAdminSessions?: (adminId: number) => Promise<void>;
  /** the client widget's home panel and product details block (module/web/web-module.ts) */
  clientPages?: {
    /** `host`: what a host such as the WHMCS bridge says about itself (where it serves the assets, how downloads go) */
    homePanel(
      clientId: number,
      language: string | null,
      host?: Record<string, unknown>,
    ): Promise<HomePanelContent | null>;
    productDetails(
      serviceId: number,
      clientId: number,
      language: string | null,
      host?: Record<string, unknown>,
    ): Promise<string>;
    languageOf(clientId: number): Promise<string>;
    /** an invoice was cancelled or refunded: its client's pages are built afresh */
    invoiceClosed?(invoiceId: number): Promise<void>;
  };
}

/** The module's hooks.php: every panel hook it handles, by WHMCS name and priority. */
export function moduleHooks(deps: HookDeps): HookDefinition[] {
  // PreCronJob only where there is billing to do before the invoice run
  const hooks = [
    ...(deps.rateBeforeInvoicing ? [PreCronJob(deps)] : []),
    DailyCronJob(deps),
    AfterCronJob(deps),
  ];
  if (deps.lines)
    hooks.push(
      InvoiceCreation({
        lines: deps.lines,
        log: deps.log,
        ...(deps.logActivity ? { logActivity: deps.logActivity } : {}),
      }),
    );
  if (deps.dunning) {
    const d = { shield: deps.dunning, log: deps.log };
    const { lateFeeFailed: failed, lateFeeCorrect: correct } = deps;
    hooks.push(
      EmailPreSend(d),
      PreModuleSuspend(d),
      AddInvoiceLateFee({ ...d, ...(failed ? { failed } : {}), ...(correct ? { correct } : {}) }),
    );
  }
  if (deps.disputes) {
    // a line on a cancelled or refunded invoice is not owed: its open dispute closes
    const pages = deps.clientPages;
    const d = {
      disputes: deps.disputes,
      log: deps.log,
      ...(pages?.invoiceClosed ? { pagesChanged: (id: number) => pages.invoiceClosed!(id) } : {}),
    };
    hooks.push(InvoiceCancelled(d), InvoiceRefunded(d));
  }
  if (deps.revokeAdminSessions)
    hooks.push(AdminLogout({ revokeAdminSessions: deps.revokeAdminSessions, log: deps.log }));
  if (deps.clientPages) {
    const c = deps.clientPages;
    hooks.push(
      ClientAreaHomepagePanels({ homePanel: (id, lang, host) => c.homePanel(id, lang, host), log: deps.log }),
      ClientAreaProductDetailsOutput({
        productDetails: (sid, cid, lang, host) => c.productDetails(sid, cid, lang, host),
        languageOf: (id) => c.languageOf(id),
        log: deps.log,
      }),
    );
  }
  return hooks;
}

export type { HookDefinition, HookHandler, HookVars } from './hook-types.js';
