/**
 * WHMCS's \WHMCS\View\Menu\Item, the part hooks use: the client home panels
 * (ClientAreaHomepagePanels) and the sidebars are children of one root item; a handler adds,
 * changes or removes them, and a panel's own children are its rows of links.
 *
 *   add_hook('ClientAreaHomepagePanels', 1, (panels) => {
 *     panels.addChild('usage', { label: 'Bandwidth', order: 50, bodyHtml: '<p>…</p>' });
 *   });
 *
 * One class for both hosts: the reference panel renders the items a handler left; the WHMCS bridge
 * gives handlers a root that also records each change as an operation, which the PHP side replays
 * on WHMCS's real menu. `label`, `badge` and rows are text (escaped when shown); `bodyHtml` and
 * `footerHtml` are HTML the hook means to show and are embedded as they are, as WHMCS does.
 */
export interface MenuItemOptions {
  label?: string;
  uri?: string;
  order?: number;
  icon?: string;
  badge?: string;
  bodyHtml?: string;
  footerHtml?: string;
  /** WHMCS's extras: color, btn-link, btn-text, btn-icon */
  extras?: Record<string, string>;
}

export type MenuField = 'label' | 'uri' | 'order' | 'icon' | 'badge' | 'bodyHtml' | 'footerHtml';

export type MenuOp =
  | { op: 'add'; path: string[]; options: MenuItemOptions }
  | { op: 'set'; path: string[]; field: MenuField; value: string | number }
  | { op: 'extra'; path: string[]; key: string; value: string }
  | { op: 'remove'; path: string[] };

/** The options of an added item as an operation carries them: no empty values, numbers and text typed. */
function cleanOptions(o: MenuItemOptions): MenuItemOptions {
  const clean: MenuItemOptions = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === '') continue;
    (clean as Record<string, unknown>)[k] =
      k === 'order' ? Number(v) : k === 'extras' ? { ...(v as object) } : String(v);
  }
  if (clean.extras && Object.keys(clean.extras).length === 0) delete clean.extras;
  return clean;
}

export class MenuItem {
  readonly name: string;
  label: string;
  uri: string;
  order: number;
  icon: string;
  badge: string;
  bodyHtml: string;
  footerHtml: string;
  extras: Record<string, string>;
  private readonly children = new Map<string, MenuItem>();
  private readonly contexts = new Map<string, unknown>();
  private readonly seq: number;
  private static counter = 0;

  /** `ops`: where a recording menu writes each change (the bridge); without it nothing is recorded. */
  constructor(
    name: string,
    opts: MenuItemOptions = {},
    private readonly ops: MenuOp[] | null = null,
    private readonly path: string[] = [],
  ) {
    this.name = name;
    this.label = opts.label ?? name;
    this.uri = opts.uri ?? '';
    this.order = Number.isFinite(opts.order) ? opts.order! : 0;
    this.icon = opts.icon ?? '';
    this.badge = opts.badge ?? '';
    this.bodyHtml = opts.bodyHtml ?? '';
    this.footerHtml = opts.footerHtml ?? '';
    this.extras = { ...(opts.extras ?? {}) };
    this.seq = ++MenuItem.counter;
  }

  /** A root that records every change a handler makes (the bridge). */
  static recording(name = 'root'): { root: MenuItem; ops: MenuOp[] } {
    const ops: MenuOp[] = [];
    return { root: new MenuItem(name, {}, ops, []), ops };
  }

  /** An item that already exists on the host's side: known to handlers, no operation recorded. */
  adopt(name: string, opts: MenuItemOptions): MenuItem {
    const child = new MenuItem(name, opts, this.ops, [...this.path, name]);
    this.children.set(name, child);
    return child;
  }

  /** Adds (or replaces) a child and returns it. */
  addChild(name: string | MenuItem, opts: MenuItemOptions = {}): MenuItem {
    const n = typeof name === 'string' ? name : String(name.name);
    const given =
      typeof name === 'string'
        ? opts
        : {
            label: name.label,
            uri: name.uri,
            order: name.order,
            icon: name.icon,
            badge: name.badge,
            bodyHtml: name.bodyHtml,
            footerHtml: name.footerHtml,
            extras: name.extras,
          };
    let child: MenuItem;
    if (this.ops) {
      const options = cleanOptions(given);
      this.ops.push({ op: 'add', path: [...this.path, n], options });
      child = new MenuItem(n, options, this.ops, [...this.path, n]);
    } else {
      child = name instanceof MenuItem ? name : new MenuItem(n, opts);
    }
    this.children.set(n, child);
    return child;
  }

  getChild(name: string): MenuItem | null {
    return this.children.get(name) ?? null;
  }

  removeChild(name: string | MenuItem): this {
    const n = typeof name === 'string' ? name : name.name;
    this.children.delete(n);
    this.ops?.push({ op: 'remove', path: [...this.path, n] });
    return this;
  }

  hasChildren(): boolean {
    return this.children.size > 0;
  }

  /** children by order, then by when they were added */
  getChildren(): MenuItem[] {
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
    (this as unknown as Record<MenuField, string | number>)[field] = value;
    this.ops?.push({ op: 'set', path: this.path, field, value });
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
    this.ops?.push({ op: 'extra', path: this.path, key, value: String(value) });
    return this;
  }

  /** WHMCS's Menu::context(name): what the page is about ('client' on client pages), for the hooks that build it */
  context(name: string): unknown {
    return this.contexts.get(name) ?? null;
  }
  setContext(name: string, value: unknown): this {
    this.contexts.set(name, value);
    return this;
  }
}
