import { loggedError } from '../module/adapters/rows.js';
import type { Logger } from '../module/adapters/logger.js';
import type { HookDefinition } from './hook-types.js';

/**
 * WHMCS AdminLogout ({adminid}): the admin's login session ended, so the admin tab's tokens it
 * handed out (bound to that session) are revoked, in the database: a copied tab token dies with
 * the logout, even across a restart. Never throws.
 */
export function AdminLogout(deps: {
  revokeAdminSessions: (adminId: number) => Promise<void>;
  log: Logger;
}): HookDefinition {
  return {
    name: 'AdminLogout',
    priority: 10,
    async handler(vars) {
      const adminId = Number(vars.adminid);
      if (!Number.isSafeInteger(adminId) || adminId < 1) return;
      try {
        await deps.revokeAdminSessions(adminId);
      } catch (err) {
        deps.log.error('hook.admin_logout.failed', { adminId, ...loggedError(err) });
      }
    },
  };
}
