import type { Logger } from '../adapters/logger.js';
import type { PanelApi } from '../adapters/panel-api.js';
import { loggedError, toNum } from '../adapters/rows.js';

/**
 * The panel's admins, as its API tells (GetAdminUsers with include_disabled), read at most once per
 * `ttlMs`. `null` when it cannot tell: no panel API, or the call failed. Callers decide what an
 * unknown means: minting a token for another admin is refused; using a token is not blocked by a
 * panel that is briefly out of reach.
 */
export type AdminStatus = 'enabled' | 'disabled' | 'missing';

export interface AdminDirectory {
  status(adminId: number): Promise<AdminStatus | null>;
}

export function createAdminDirectory(deps: {
  panel: PanelApi | undefined;
  log: Logger;
  now?: () => number;
  ttlMs?: number;
}): AdminDirectory {
  const now = deps.now ?? Date.now;
  const ttlMs = deps.ttlMs ?? 30_000;
  let cache: { at: number; admins: Map<number, boolean> } | null = null;
  let loading: Promise<Map<number, boolean> | null> | null = null;

  async function load(): Promise<Map<number, boolean> | null> {
    if (!deps.panel) return null;
    try {
      const res = await deps.panel.call('GetAdminUsers', { include_disabled: true });
      const list = Array.isArray(res.admin_users) ? (res.admin_users as Array<Record<string, unknown>>) : [];
      const admins = new Map<number, boolean>();
      for (const a of list)
        admins.set(
          toNum(a.id),
          a.isDisabled === true || a.isDisabled === 1 || a.isDisabled === '1' || a.isDisabled === 'true',
        );
      cache = { at: now(), admins };
      return admins;
    } catch (err) {
      deps.log.warn('admins.lookup_failed', { ...loggedError(err) });
      return null;
    }
  }

  return {
    async status(adminId) {
      let admins = cache && now() - cache.at < ttlMs ? cache.admins : null;
      if (!admins) {
        loading ??= load().finally(() => (loading = null));
        admins = await loading;
      }
      if (!admins) return null;
      const disabled = admins.get(adminId);
      return disabled === undefined ? 'missing' : disabled ? 'disabled' : 'enabled';
    },
  };
}
