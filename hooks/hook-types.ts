/** What a panel hands a hook handler, and what the module registers (WHMCS add_hook). */
export type HookVars = Record<string, unknown>;
export type HookHandler = (vars: HookVars) => unknown;

export interface HookDefinition {
  name: string;
  priority: number;
  handler: HookHandler;
}
