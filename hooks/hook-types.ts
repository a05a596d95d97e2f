import type { DateTime } from 'luxon';

/** What a panel hands a hook handler, and what the module registers (WHMCS add_hook). */
export type HookVars = Record<string, unknown>;

/**
 * What the WHMCS bridge says about a hook beside WHMCS's own vars: a hook it kept while the service
 * was away and delivers later carries when WHMCS fired it (`firedAt`, the relayed payload's
 * `replay.firedAt`). Absent for a hook delivered as it fires (and in the panel stand-in, which calls
 * its hooks directly): then it fired now.
 */
export interface HookContext {
  firedAt?: DateTime;
}

export type HookHandler = (vars: HookVars, context?: HookContext) => unknown;

export interface HookDefinition {
  name: string;
  priority: number;
  handler: HookHandler;
}
