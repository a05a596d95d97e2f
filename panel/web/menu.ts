import { MenuItem, type MenuItemOptions } from '../../module/domain/menu-item.js';

/** WHMCS's menu item: one class for the reference panel and the bridge (module/domain/menu-item.ts). */
export { MenuItem, type MenuItemOptions };

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
