import path from 'node:path';
import express, { type Router } from 'express';
import helmet from 'helmet';
import { notFound } from '../domain/errors.js';
import { createAdminRouter } from './admin-router.js';
import { createClientRouter } from './client-router.js';
import { createEmbedRouter } from './embed-router.js';
import { uiFor } from './page-host.js';
import type { WebRouterDeps } from './router-deps.js';
import { subjectOf, createWebAuth } from './web-auth.js';
import { embedShellWith, errorAnswers, flatQuery, noStore } from './web-middleware.js';

export type { WebRouterDeps } from './router-deps.js';

const ASSETS_DIR = path.resolve(import.meta.dirname, '..', '..', 'views', 'assets');

/** Every route, for the tests that check each one is answered and documented. */
export const WEB_ROUTES: ReadonlyArray<readonly [method: string, path: string]> = [
  ['GET', '/assets/overusage.css'],
  ['GET', '/assets/overusage-page.css'],
  ['GET', '/assets/overusage.js'],
  ['GET', '/embed/client'],
  ['POST', '/embed/client'],
  ['GET', '/embed/admin'],
  ['POST', '/embed/admin'],
  ['GET', '/api/v1/me'],
  ['POST', '/api/v1/logout'],
  ['GET', '/api/v1/client/services'],
  ['GET', '/api/v1/client/services/{serviceId}'],
  ['GET', '/api/v1/client/services/{serviceId}/periods'],
  ['GET', '/api/v1/client/services/{serviceId}/usage-periods'],
  ['GET', '/api/v1/client/services/{serviceId}/periods/{periodId}/days'],
  ['GET', '/api/v1/client/services/{serviceId}/periods/{periodId}/days.csv'],
  ['GET', '/api/v1/client/lines'],
  ['GET', '/api/v1/client/lines/{lineId}'],
  ['GET', '/api/v1/client/lines/{lineId}/evidence'],
  ['GET', '/api/v1/client/lines/{lineId}/days.csv'],
  ['GET', '/api/v1/client/lines/{lineId}/samples.csv'],
  ['POST', '/api/v1/client/lines/{lineId}/dispute'],
  ['GET', '/api/v1/client/disputes/{disputeId}'],
  ['POST', '/api/v1/client/disputes/{disputeId}/withdraw'],
  ['GET', '/api/v1/client/services/{serviceId}/cap'],
  ['PUT', '/api/v1/client/services/{serviceId}/cap'],
  ['POST', '/api/v1/client/services/{serviceId}/cap/lift'],
  ['GET', '/api/v1/admin/dashboard'],
  ['GET', '/api/v1/admin/services'],
  ['GET', '/api/v1/admin/services/{serviceId}'],
  ['POST', '/api/v1/admin/services/{serviceId}/active'],
  ['GET', '/api/v1/admin/services/{serviceId}/samples'],
  ['GET', '/api/v1/admin/services/{serviceId}/periods'],
  ['GET', '/api/v1/admin/services/{serviceId}/periods/{periodId}/days.csv'],
  ['GET', '/api/v1/admin/services/{serviceId}/usage-periods'],
  ['GET', '/api/v1/admin/sync-issues'],
  ['GET', '/api/v1/admin/pools'],
  ['GET', '/api/v1/admin/caps'],
  ['GET', '/api/v1/admin/upgrades'],
  ['GET', '/api/v1/admin/anomalies'],
  ['POST', '/api/v1/admin/anomalies/{anomalyId}/decide'],
  ['GET', '/api/v1/admin/corrections'],
  ['POST', '/api/v1/admin/corrections/{chargeId}/settle'],
  ['GET', '/api/v1/admin/disputes'],
  ['GET', '/api/v1/admin/disputes/{disputeId}'],
  ['POST', '/api/v1/admin/disputes/{disputeId}/preview'],
  ['POST', '/api/v1/admin/disputes/{disputeId}/resolve'],
  ['GET', '/api/v1/admin/lines'],
  ['GET', '/api/v1/admin/lines.csv'],
  ['GET', '/api/v1/admin/lines/{lineId}'],
  ['GET', '/api/v1/admin/lines/{lineId}/evidence'],
  ['GET', '/api/v1/admin/lines/{lineId}/days.csv'],
  ['GET', '/api/v1/admin/lines/{lineId}/samples.csv'],
  ['POST', '/api/v1/admin/lines/{lineId}/dispute'],
  ['GET', '/api/v1/admin/masters'],
  ['POST', '/api/v1/admin/masters/{masterId}/test'],
  ['GET', '/api/v1/admin/products'],
  ['PUT', '/api/v1/admin/products/{productId}'],
  ['GET', '/api/v1/admin/settings'],
  ['PUT', '/api/v1/admin/settings'],
  ['GET', '/api/v1/admin/audit'],
  ['POST', '/api/v1/admin/tokens'],
];

/**
 * The module's own HTTP surface, mounted by the demo app and `overusage serve`:
 *
 *   <base>/api/v1/…       the JSON API (docs/openapi.yaml) behind the widget and the admin tab
 *   <base>/embed/client   the client widget as a page of its own, for a panel that embeds it
 *   <base>/embed/admin    the admin tab likewise
 *   <base>/assets/…       the stylesheet and the one script (same origin: the CSP allows no inline script)
 *
 * Every request names its admin or client with a signed token (tokens.ts): `Authorization: Bearer`
 * on any route; `?token=` on GET only (downloads, opening an embed page); the embed pages keep it in
 * an httpOnly cookie and check their own CSRF field on POST. A client reaches only their own
 * services, lines and disputes: anything else answers 404, as if it did not exist. Errors are
 * {error: {code, message}} with the status of the code; never a stack trace.
 */
export function createWebRouter(deps: WebRouterDeps): Router {
  const base = deps.basePath.replace(/\/+$/, '');
  const apiBase = `${base}/api/v1`;
  const r = express.Router();
  const auth = createWebAuth(deps);
  const ui = uiFor(null, `${base}/assets`);
  const embedShell = embedShellWith(ui);
  r.use(
    helmet(
      deps.helmet ?? {
        contentSecurityPolicy: {
          directives: { upgradeInsecureRequests: null, frameAncestors: deps.frameAncestors ?? ["'self'"] },
        },
        // frame-ancestors says who may frame the pages; the older header would forbid every other origin
        ...(deps.frameAncestors ? { xFrameOptions: false } : {}),
      },
    ),
  );
  r.get('/assets/:file', (req, res, next) => {
    const file = req.params.file;
    if (file !== 'overusage.css' && file !== 'overusage-page.css' && file !== 'overusage.js') return next();
    res
      .set('Cache-Control', 'public, max-age=3600')
      .type(file.endsWith('.css') ? 'css' : 'js')
      .sendFile(path.join(ASSETS_DIR, file));
  });
  r.use(flatQuery);
  r.use(createEmbedRouter({ deps, auth, base, apiBase, ui, embedShell }));

  const api = express.Router();
  api.use(noStore);
  api.get('/me', auth.authenticate('any'), (_req, res) => {
    const v = subjectOf(res);
    res.json({ subject: { type: v.type, id: v.id }, expiresAt: new Date(v.expiresAt * 1000).toISOString() });
  });
  // the token that calls it is revoked, and every token bound to it; kept in the database
  api.post('/logout', auth.authenticate('any'), async (_req, res) => {
    await deps.revocations.revokeToken(subjectOf(res), 'logout');
    res.status(204).end();
  });
  api.use('/client', createClientRouter(deps, auth));
  api.use('/admin', createAdminRouter(deps, auth));
  api.use((_req, _res) => {
    throw notFound('no such route');
  });
  r.use('/api/v1', api);
  r.use(errorAnswers(deps.log, embedShell));
  return express.Router().use(base || '/', r);
}
