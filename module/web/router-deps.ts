import type { Knex } from 'knex';
import type { HelmetOptions } from 'helmet';
import type { CapService } from '../services/caps.js';
import type { PoolService } from '../services/pools.js';
import type { UpgradeService } from '../services/upgrades.js';
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../adapters/logger.js';
import type { PanelApi } from '../adapters/panel-api.js';
import type { AdminReads } from '../services/admin-reads.js';
import type { BillingSettingsService } from '../services/billing-settings.js';
import type { DisputeService } from '../services/disputes.js';
import type { EvidenceService } from '../services/evidence.js';
import type { MasterService } from '../services/masters.js';
import type { ServiceLinkService } from '../services/service-links.js';
import type { SettingsService } from '../services/settings.js';
import type { UsageReads } from '../services/usage-reads.js';
import type { UsagePeriodService } from '../services/usage-periods.js';
import type { TokenRevocations } from '../adapters/token-revocations.js';
import type { AdminDirectory } from '../services/admin-directory.js';
import type { AdminTab } from './admin-tab.js';
import type { NameDirectory } from './name-directory.js';
import type { DisputeLimiter } from './rate-limit.js';
import type { TokenSigner } from './tokens.js';
import type { Widget } from './widget.js';

/** What the router (api-router.ts) and its parts (the client, admin and embed routers) are built from. */
export interface WebRouterDeps {
  basePath: string;
  signer: TokenSigner;
  widget: Widget;
  adminTab: AdminTab;
  reads: UsageReads;
  admin: AdminReads;
  disputes: DisputeService | undefined;
  usagePeriods: UsagePeriodService;
  syncIssues: () => Promise<
    Array<{
      serviceId: number;
      clientId: number;
      productId: number;
      domain: string;
      reason: string;
      seenAt: string;
    }>
  >;
  evidence: EvidenceService;
  masters: MasterService;
  billing: BillingSettingsService;
  settings: SettingsService;
  links: ServiceLinkService;
  panel: PanelApi | undefined;
  limiter: DisputeLimiter;
  /** revoked tokens (logout, disabled admins), kept in the database */
  revocations: TokenRevocations;
  knex: Knex;
  /** client-chosen caps, and the limit policy run that carries a change out at once */
  caps?: { service: CapService; applyNow: () => Promise<unknown> };
  /** transfer pools' rated months (module/services/pools.ts) */
  pools?: PoolService;
  /** upgrade suggestions and what came of them */
  upgrades?: UpgradeService;
  /** the panel's admins: a token of an admin who is disabled or gone is refused */
  admins: AdminDirectory;
  /** the panel's names for the ids in an admin's answers */
  names: NameDirectory;
  clock: Clock;
  log: Logger;
  now: () => number;
  cacheMs: number;
  helmet?: HelmetOptions;
  /** origins allowed to frame the embed pages (CSP frame-ancestors); default: this origin only */
  frameAncestors?: string[];
  /** mark the embed cookie Secure on every request (behind TLS); otherwise only over TLS */
  secureCookies?: boolean;
}
