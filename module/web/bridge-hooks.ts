/**
 * Running the module's hook handlers for a hook the WHMCS bridge forwarded, and shaping the
 * combined answer so the PHP side can hand it to WHMCS with WHMCS's return semantics
 * (module/domain/hook-answers.ts, the rules the reference panel's dispatcher applies too). Menu
 * hooks' handlers change a menu object; here they get a recording stand-in, and the changes go back
 * as operations the bridge replays on WHMCS's real menu. Every other style but merge and html
 * sends no answer back.
 *
 * A handler that throws counts as no answer (and is logged), as in the panel.
 */
import { loggedError } from '../adapters/rows.js';
import type { Logger } from '../adapters/logger.js';
import { combineAnswers, hookStyle } from '../domain/hook-answers.js';
import { MenuItem, type MenuOp } from '../domain/menu-item.js';

export type { MenuOp };
import type { HookContext, HookDefinition, HookVars } from '../../hooks/hook-types.js';

export type BridgeHookAnswer =
  | { kind: 'none' }
  | { kind: 'merge'; values: Record<string, unknown> }
  | { kind: 'html'; html: string }
  | { kind: 'menu'; ops: MenuOp[] };

/** The menu a menu hook's handlers change: the items WHMCS already has, as the bridge listed them. */
export function menuFromVars(vars: HookVars): { root: MenuItem; ops: MenuOp[] } {
  const { root, ops } = MenuItem.recording();
  const items = Array.isArray(vars.items) ? vars.items : [];
  for (const it of items) {
    if (!it || typeof it !== 'object') continue;
    const i = it as Record<string, unknown>;
    if (typeof i.name !== 'string') continue;
    root.adopt(i.name, {
      label: typeof i.label === 'string' ? i.label : i.name,
      order: Number(i.order) || 0,
    });
  }
  // the context a handler needs that WHMCS's menu object does not carry: Menu::context('client')
  // names the page's client in WHMCS; 'host' is what the bridge says about serving our files
  const client =
    typeof vars.clientid === 'number' && vars.clientid > 0
      ? { id: vars.clientid, language: typeof vars.language === 'string' ? vars.language : null }
      : null;
  root
    .setContext('client', client)
    .setContext('host', vars.host && typeof vars.host === 'object' ? vars.host : null);
  (root as unknown as Record<string, unknown>).clientid = vars.clientid ?? null;
  return { root, ops };
}

/**
 * Runs the handlers registered for `name` in priority order and combines their answers; `context`
 * (a replayed hook's firedAt) goes to each handler beside its vars.
 */
export async function dispatchBridgeHook(
  hooks: readonly HookDefinition[],
  name: string,
  vars: HookVars,
  log: Logger,
  context: HookContext = {},
): Promise<BridgeHookAnswer> {
  const style = hookStyle(name);
  const handlers = hooks
    .filter((h) => h.name === name)
    .map((h, i) => ({ h, i }))
    .sort((a, b) => a.h.priority - b.h.priority || a.i - b.i);
  const menu = style === 'menu' ? menuFromVars(vars) : null;
  const answers: unknown[] = [];
  for (const { h } of handlers) {
    try {
      answers.push(
        await h.handler(menu ? (menu.root as unknown as HookVars) : structuredClone(vars), context),
      );
    } catch (err) {
      log.warn('bridge.hook_handler_failed', {
        hook: name,
        priority: h.priority,
        ...loggedError(err),
      });
    }
  }
  const { merged, html } = combineAnswers(style, answers);
  if (style === 'merge')
    return Object.keys(merged).length ? { kind: 'merge', values: merged } : { kind: 'none' };
  if (style === 'html') return html ? { kind: 'html', html } : { kind: 'none' };
  if (style === 'menu') return menu!.ops.length ? { kind: 'menu', ops: menu!.ops } : { kind: 'none' };
  return { kind: 'none' };
}
