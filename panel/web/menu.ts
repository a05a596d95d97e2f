/**
 * WHMCS's \WHMCS\View\Menu\Item, the part hooks use: the client home panels
 * (ClientAreaHomepagePanels) are children of one root item; a handler adds, changes or removes
 * them, and a panel's own children are its rows of links.
 *
 *   add_hook('ClientAreaHomepagePanels', 1, (panels) => {
 *     panels.addChild('usage', { label: 'Bandwidth', order: 50, bodyHtml: '<p>…</p>' });
 *   });
 *
 * `label`, `badge` and rows are text (escaped when shown); `bodyHtml` and `footerHtml` are HTML
 * the hook means to show and are embedded as they are, as WHMCS does.
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

  constructor(name: string, opts: MenuItemOptions = {}) {
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

  /** Adds (or replaces) a child and returns it. */
  addChild(name: string | MenuItem, opts: MenuItemOptions = {}): MenuItem {
    const child = name instanceof MenuItem ? name : new MenuItem(String(name), opts);
    this.children.set(child.name, child);
    return child;
  }

  getChild(name: string): MenuItem | null {
    return this.children.get(name) ?? null;
  }

  removeChild(name: string | MenuItem): this {
    this.children.delete(typeof name === 'string' ? name : name.name);
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
  setLabel(label: string): this {
    this.label = String(label);
    return this;
  }
  getUri(): string {
    return this.uri;
  }
  setUri(uri: string): this {
    this.uri = String(uri);
    return this;
  }
  getOrder(): number {
    return this.order;
  }
  setOrder(order: number): this {
    if (Number.isFinite(order)) this.order = order;
    return this;
  }
  setIcon(icon: string): this {
    this.icon = String(icon);
    return this;
  }
  setBadge(badge: string): this {
    this.badge = String(badge);
    return this;
  }
  getBodyHtml(): string {
    return this.bodyHtml;
  }
  setBodyHtml(html: string): this {
    this.bodyHtml = String(html);
    return this;
  }
  getFooterHtml(): string {
    return this.footerHtml;
  }
  setFooterHtml(html: string): this {
    this.footerHtml = String(html);
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
  getExtra(key: string): string | null {
    return this.extras[key] ?? null;
  }
  setExtra(key: string, value: string): this {
    this.extras[key] = String(value);
    return this;
  }
}

/** Only links that cannot run script: relative, http(s) and mailto. */
export function safeHref(uri: string): string {
  const u = uri.trim();
  if (u === '') return '';
  if (/^(https?:|mailto:)/i.test(u)) return u;
  // a scheme of any other kind (javascript:, data:, vbscript:) is dropped
  if (/^[a-z][a-z0-9+.-]*:/i.test(u) || /^[\s\u0000-\u001f]*[a-z]+\s*:/i.test(u)) return '';
  return u;
}

export interface PanelView {
  name: string;
  label: string;
  icon: string;
  badge: string;
  color: string;
  bodyHtml: string;
  footerHtml: string;
  button: { href: string; text: string } | null;
  rows: Array<{ label: string; href: string; badge: string }>;
}

/** What the view renders of a panel collection (plain data, links made safe). */
export function panelViews(root: MenuItem): PanelView[] {
  return root.getChildren().map((p) => {
    const btnLink = safeHref(p.getExtra('btn-link') ?? '');
    return {
      name: p.name,
      label: p.label,
      icon: p.icon,
      badge: p.badge,
      color: /^[a-z-]{1,20}$/i.test(p.getExtra('color') ?? '') ? p.getExtra('color')! : '',
      bodyHtml: p.bodyHtml,
      footerHtml: p.footerHtml,
      button: btnLink ? { href: btnLink, text: p.getExtra('btn-text') ?? 'View' } : null,
      rows: p.getChildren().map((r) => ({ label: r.label, href: safeHref(r.uri), badge: r.badge })),
    };
  });
}
