/**
 * Setup › Staff › Manage API Credentials (WHMCS's configapicredentials.php): a full administrator
 * lists the active credentials, creates one for an enabled admin — its secret shown on that one
 * answer, never stored (only its hash), never put in a session, flash or log — and revokes one.
 * Forms carry the CSRF token; everything shown is escaped by the view.
 */
import type { Request, RequestHandler, Response, Router } from 'express';
import { createApiCredential } from '../auth.js';
import { datetimeCell, intCell, sqlLocalDatetime, textCell } from '../db/rows.js';
import { clientIp, field, type WebContext } from './context.js';

export interface AdminPageKit {
  guard: RequestHandler[];
  requireFullAdmin(req: Request, res: Response): Promise<{ username: string } | null>;
  page(
    req: Request,
    res: Response,
    status: number,
    view: string,
    data: Record<string, unknown>,
  ): Promise<void>;
  flash(req: Request, res: Response, kind: 'success' | 'error' | 'info', text: string): void;
  to(req: Request, page: string): string;
}

const PAGE = 'configapicredentials.php';

export function registerApiCredentialPages(router: Router, ctx: WebContext, kit: AdminPageKit): void {
  const db = ctx.knex;

  async function render(
    req: Request,
    res: Response,
    status: number,
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    const rows = await db('tbldeviceauth as d')
      .leftJoin('tbladmins as a', 'a.id', 'd.user_id')
      .whereNull('d.deleted_at')
      .orderBy('d.id')
      .select('d.identifier', 'd.description', 'd.created_at', 'd.last_access', 'a.username');
    const admins = await db('tbladmins').where({ disabled: 0 }).orderBy('username').select('id', 'username');
    await kit.page(req, res, status, 'admin/api-credentials', {
      title: 'Manage API Credentials',
      active: 'apicredentials',
      credentials: rows.map((r) => ({
        identifier: textCell(r.identifier),
        admin: textCell(r.username),
        description: textCell(r.description),
        created: datetimeCell(r.created_at) ?? '',
        lastAccess: datetimeCell(r.last_access) ?? 'Never',
      })),
      admins: admins.map((a) => ({ id: intCell(a.id), username: textCell(a.username) })),
      created: null,
      error: null,
      ...extra,
    });
  }

  router.get(`/${PAGE}`, async (req, res) => {
    if (!(await kit.requireFullAdmin(req, res))) return;
    await render(req, res, 200);
  });

  router.post(`/${PAGE}`, ...kit.guard, async (req, res) => {
    const me = await kit.requireFullAdmin(req, res);
    if (!me) return;
    const ip = clientIp(req, ctx.panel.trustProxy);
    const action = field(res, 'action');
    if (action === 'create') {
      const adminId = /^\d{1,9}$/.test(field(res, 'adminid')) ? Number(field(res, 'adminid')) : 0;
      const admin =
        adminId > 0
          ? await db('tbladmins').where({ id: adminId, disabled: 0 }).first('id', 'username')
          : undefined;
      if (!admin) return render(req, res, 400, { error: 'Choose an enabled admin user for the credential.' });
      const description = field(res, 'description').trim().slice(0, 255);
      const cred = await createApiCredential(
        db,
        { adminId, description },
        ctx.panel.core.clock.now(),
        ctx.panel.core.zone,
      );
      await ctx.panel.core.activity({
        description: `API Credential Created - Identifier: ${cred.identifier} - Admin: ${textCell(admin.username)}`,
        user: me.username,
        ipaddr: ip,
      });
      // the one time the secret exists outside the caller's hands: this answer (no-store), nothing else
      return render(req, res, 201, {
        created: { identifier: cred.identifier, secret: cred.secret, admin: textCell(admin.username) },
      });
    }
    if (action === 'revoke') {
      const identifier = field(res, 'identifier').slice(0, 64);
      const n =
        identifier === ''
          ? 0
          : await db('tbldeviceauth')
              .where({ identifier })
              .whereNull('deleted_at')
              .update({ deleted_at: sqlLocalDatetime(ctx.panel.core.clock.now(), ctx.panel.core.zone) });
      if (n === 0)
        return render(req, res, 404, { error: 'That API credential does not exist or was already revoked.' });
      await ctx.panel.core.activity({
        description: `API Credential Revoked - Identifier: ${identifier}`,
        user: me.username,
        ipaddr: ip,
      });
      kit.flash(req, res, 'success', `API credential ${identifier} revoked.`);
      return res.redirect(303, kit.to(req, PAGE));
    }
    return render(req, res, 400, { error: 'Unknown action.' });
  });
}
