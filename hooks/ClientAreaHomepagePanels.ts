import { loggedError } from '../module/adapters/rows.js';
import type { Logger } from '../module/adapters/logger.js';
import type { HookDefinition } from './hook-types.js';

/** What the home panel shows (module/web/web-module.ts homePanel). */
export interface HomePanelContent {
  label: string;
  bodyHtml: string;
  btnLink: string;
  btnText: string;
  badge: string;
}

/** The part of WHMCS's menu item a home panel hook uses. */
interface PanelsMenu {
  addChild(name: string, opts: Record<string, unknown>): unknown;
  /** WHMCS's Menu::context(): the client the page is for */
  context?(name: string): unknown;
}

/**
 * WHMCS ClientAreaHomepagePanels: a compact "Bandwidth usage" panel on the client's home page
 * (each metered VPS against its allowance, lines under dispute). The client comes from the menu's
 * context, as Menu::context('client') gives it in WHMCS. Fails open: no panel rather than no page.
 */
export function ClientAreaHomepagePanels(deps: {
  homePanel: (
    clientId: number,
    language: string | null,
    host?: Record<string, unknown>,
  ) => Promise<HomePanelContent | null>;
  log: Logger;
}): HookDefinition {
  return {
    name: 'ClientAreaHomepagePanels',
    priority: 10,
    async handler(panels: unknown) {
      const menu = panels as PanelsMenu | null;
      if (!menu || typeof menu.addChild !== 'function') return undefined;
      const client = (typeof menu.context === 'function' ? menu.context('client') : null) as {
        id?: unknown;
        language?: unknown;
      } | null;
      const clientId = Number(client?.id);
      if (!Number.isSafeInteger(clientId) || clientId <= 0) return undefined;
      try {
        // a host that serves the module's files itself (the WHMCS bridge) says so in the menu's context
        const host = typeof menu.context === 'function' ? menu.context('host') : null;
        const content = await deps.homePanel(
          clientId,
          typeof client?.language === 'string' ? client.language : null,
          host && typeof host === 'object' ? (host as Record<string, unknown>) : {},
        );
        if (!content) return undefined;
        menu.addChild('overusage', {
          label: content.label,
          order: 150,
          bodyHtml: content.bodyHtml,
          ...(content.badge ? { badge: content.badge } : {}),
          extras: { 'btn-link': content.btnLink, 'btn-text': content.btnText },
        });
      } catch (err) {
        deps.log.warn('hook.homepage_panel_failed', { clientId, ...loggedError(err) });
      }
      return undefined;
    },
  };
}
