/**
 * The module's own tables (created by migrations/, all prefixed `mod_overusage_` as WHMCS expects
 * of an addon's tables), named once. Stores and services refer to `TABLES.lines`, never to a
 * string: a renamed or mistyped table is then a compile error, and `grep TABLES.lines` finds every
 * reader of a table.
 */
export const TABLES = {
  anomalies: 'mod_overusage_anomalies',
  audit: 'mod_overusage_audit',
  billingProfiles: 'mod_overusage_billing_profiles',
  bridgeCommands: 'mod_overusage_bridge_commands',
  bridgeNonces: 'mod_overusage_bridge_nonces',
  caps: 'mod_overusage_caps',
  charges: 'mod_overusage_charges',
  clientOverrides: 'mod_overusage_client_overrides',
  deliveries: 'mod_overusage_deliveries',
  directory: 'mod_overusage_directory',
  disputes: 'mod_overusage_disputes',
  intervals: 'mod_overusage_intervals',
  lateFeeRetries: 'mod_overusage_late_fee_retries',
  lateFeeTimes: 'mod_overusage_late_fee_times',
  limitActions: 'mod_overusage_limit_actions',
  lines: 'mod_overusage_lines',
  locks: 'mod_overusage_locks',
  masters: 'mod_overusage_masters',
  migrations: 'mod_overusage_migrations',
  notices: 'mod_overusage_notices',
  outbox: 'mod_overusage_outbox',
  periods: 'mod_overusage_periods',
  poolMembers: 'mod_overusage_pool_members',
  poolPeriods: 'mod_overusage_pool_periods',
  rateSamples: 'mod_overusage_rate_samples',
  readFailures: 'mod_overusage_read_failures',
  runs: 'mod_overusage_runs',
  samples: 'mod_overusage_samples',
  serviceOverrides: 'mod_overusage_service_overrides',
  services: 'mod_overusage_services',
  settings: 'mod_overusage_settings',
  syncIssues: 'mod_overusage_sync_issues',
  tokenRevocations: 'mod_overusage_token_revocations',
  upgrades: 'mod_overusage_upgrades',
} as const;

export type TableName = (typeof TABLES)[keyof typeof TABLES];
