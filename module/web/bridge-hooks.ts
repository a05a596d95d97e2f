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
import type { Logger } from '../adapters/logger.js';
import { combineAnswers, hookStyle } from '../domain/hook-answers.js';
import type { HookDefinition, HookVars } from '../../hooks/hook-types.js';

export type MenuField = 'label' | 'uri' | 'order' | 'icon' | 'badge' | 'bodyHtml' | 'footerHtml';

export interface MenuOptions {
  label?: string;
  uri?: string;
  order?: number;
  icon?: string;
  badge?: string;
  bodyHtml?: string;
  footerHtml?: string;
  extras?: Record<string, string>;
}

export type MenuOp =
  | { op: 'add'; path: string[]; options: MenuOptions }
  | { op: 'set'; path: string[]; field: MenuField; value: string | number }
  | { op: 'extra'; path: string[]; key: string; value: string }
  | { op: 'remove'; path: string[] };

/** The part of WHMCS's \WHMCS\View\Menu\Item a hook uses, recording what the handler changes. */
export class RecordingMenuItem {
  label: string;
  uri: string;
  order: number;
  icon: string;
  badge: string;
  bodyHtml: string;
  footerHtml: string;
  extras: Record<string, string>;
  private readonly children = new Map<string, RecordingMenuItem>();
  private readonly seq: number;
  private static counter = 0;

  constructor(
    readonly name: string,
    opts: MenuOptions,
    private readonly path: string[],
    private readonly ops: MenuOp[],
  ) {
    this.label = opts.label ?? name;
    this.uri = opts.uri ?? '';
    this.order = Number.isFinite(opts.order) ? opts.order! : 0;
    this.icon = opts.icon ?? '';
    this.badge = opts.badge ?? '';
    this.bodyHtml = opts.bodyHtml ?? '';
    this.footerHtml = opts.footerHtml ?? '';
    this.extras = { ...(opts.extras ?? {}) };
    this.seq = ++RecordingMenuItem.counter;
  }

  /** an item that already exists on the WHMCS side (no operation recorded) */
  adopt(name: string, opts: MenuOptions): RecordingMenuItem {
    const child = new RecordingMenuItem(name, opts, [...this.path, name], this.ops);
    this.children.set(name, child);
    return child;
  }

  addChild(name: string | RecordingMenuItem, opts: MenuOptions = {}): RecordingMenuItem {
    const n = typeof name === 'string' ? name : name.name;
    const o = typeof name === 'string' ? opts : { label: name.label, uri: name.uri, order: name.order, icon: name.icon, badge: name.badge, bodyHtml: name.bodyHtml, footerHtml: name.footerHtml, extras: name.extras };
    const clean: MenuOptions = {};
    for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== '') (clean as Record<string, unknown>)[k] = k === 'order' ? Number(v) : k === 'extras' ? { ...(v as object) } : String(v);
    if (clean.extras && Object.keys(clean.extras).length === 0) delete clean.extras;
    this.ops.push({ op: 'add', path: [...this.path, n], options: clean });
    const child = new RecordingMenuItem(n, clean, [...this.path, n], this.ops);
    this.children.set(n, child);
    return child;
  }

  getChild(name: string): RecordingMenuItem | null {
    return this.children.get(name) ?? null;
  }

  removeChild(name: string | RecordingMenuItem): this {
    const n = typeof name === 'string' ? name : name.name;
    this.children.delete(n);
    this.ops.push({ op: 'remove', path: [...this.path, n] });
    return this;
  }

  hasChildren(): boolean {
    return this.children.size > 0;
  }

  getChildren(): RecordingMenuItem[] {
    return [...this.children.values()].sort((a, b) => a.order - b.order || a.seq - b.seq);
  }

  getName(): string {
    return this.name;
  }
  getLabel(): string {
    return this.label;
  }
  getUri(): string {
    return this.uri;
  }
  getOrder(): number {
    return this.order;
  }
  getBodyHtml(): string {
    return this.bodyHtml;
  }
  getFooterHtml(): string {
    return this.footerHtml;
  }
  getExtra(key: string): string | null {
    return this.extras[key] ?? null;
  }

  private set(field: MenuField, value: string | number): this {
    (this as unknown as Record<string, unknown>)[field] = value;
    this.ops.push({ op: 'set', path: this.path, field, value });
    return this;
  }
  setLabel(v: string): this {
    return this.set('label', String(v));
  }
  setUri(v: string): this {
    return this.set('uri', String(v));
  }
  setOrder(v: number): this {
    return Number.isFinite(v) ? this.set('order', v) : this;
  }
  setIcon(v: string): this {
    return this.set('icon', String(v));
  }
  setBadge(v: string): this {
    return this.set('badge', String(v));
  }
  setBodyHtml(v: string): this {
    return this.set('bodyHtml', String(v));
  }
  setFooterHtml(v: string): this {
    return this.set('footerHtml', String(v));
  }
  setExtra(key: string, value: string): this {
    this.extras[key] = String(value);
    this.ops.push({ op: 'extra', path: this.path, key, value: String(value) });
    return this;
  }
}

export type BridgeHookAnswer =
  | { kind: 'none' }
  | { kind: 'merge'; values: Record<string, unknown> }
  | { kind: 'html'; html: string }
  | { kind: 'menu'; ops: MenuOp[] };

/** The menu a menu hook's handlers change: the items WHMCS already has, as the bridge listed them. */
export function menuFromVars(vars: HookVars): { root: RecordingMenuItem; ops: MenuOp[] } {
  const ops: MenuOp[] = [];
  const root = new RecordingMenuItem('root', {}, [], ops);
  const items = Array.isArray(vars.items) ? vars.items : [];
  for (const it of items) {
    if (!it || typeof it !== 'object') continue;
    const i = it as Record<string, unknown>;
    if (typeof i.name !== 'string') continue;
    root.adopt(i.name, { label: typeof i.label === 'string' ? i.label : i.name, order: Number(i.order) || 0 });
  }
  // the context a handler needs that WHMCS's menu object does not carry: Menu::context('client')
  // names the page's client in WHMCS; 'host' is what the bridge says about serving our files
  const client = typeof vars.clientid === 'number' && vars.clientid > 0 ? { id: vars.clientid, language: typeof vars.language === 'string' ? vars.language : null } : null;
  const host = vars.host && typeof vars.host === 'object' ? vars.host : null;
  (root as unknown as Record<string, unknown>).clientid = vars.clientid ?? null;
  (root as unknown as Record<string, unknown>).context = (name: string): unknown => (name === 'client' ? client : name === 'host' ? host : null);
  return { root, ops };
}

/** Runs the handlers registered for `name` in priority order and combines their answers. */
export async function dispatchBridgeHook(hooks: readonly HookDefinition[], name: string, vars: HookVars, log: Logger): Promise<BridgeHookAnswer> {
  const style = hookStyle(name);
  const handlers = hooks.filter((h) => h.name === name).map((h, i) => ({ h, i })).sort((a, b) => a.h.priority - b.h.priority || a.i - b.i);
  const menu = style === 'menu' ? menuFromVars(vars) : null;
  const answers: unknown[] = [];
  for (const { h } of handlers) {
    try {
      answers.push(await h.handler(menu ? (menu.root as unknown as HookVars) : structuredClone(vars)));
    } catch (err) {
      log.warn('bridge.hook_handler_failed', { hook: name, priority: h.priority, message: (err as Error).message });
    }
  }
  const { merged, html } = combineAnswers(style, answers);
  if (style === 'merge') return Object.keys(merged).length ? { kind: 'merge', values: merged } : { kind: 'none' };
  if (style === 'html') return html ? { kind: 'html', html } : { kind: 'none' };
  if (style === 'menu') return menu!.ops.length ? { kind: 'menu', ops: menu!.ops } : { kind: 'none' };
  return { kind: 'none' };
}
