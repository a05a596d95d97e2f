import express, { type Response, type Router } from 'express';
import { z } from 'zod';
import { capActionInForce } from '../services/caps.js';
import { invalidInput, ModuleError, notFound } from '../domain/errors.js';
import { formatAmount } from '../domain/line-text.js';
import { PanelApiError } from '../adapters/panel-api.js';
import { auditLog } from '../adapters/audit-store.js';
import { isUnreadable, logUnreadable } from '../adapters/rows.js';
import { everyDay } from '../services/usage-reads.js';
import { daysCsv, evidenceJson, samplesCsv, toCsv } from '../services/evidence.js';
import { panelHasProduct } from './admin-tab.js';
import {
  anomalyJson,
  auditJson,
  chargeJson,
  disputeRowJson,
  disputeViewJson,
  lineJson,
  listedJson,
  money,
  periodJson,
  projectedJson,
  rerateJson,
  sampleJson,
  serviceListJson,
  serviceUsageJson,
  unreadableJson,
  usagePeriodJson,
} from './api-json.js';
import { LINES_CSV_HEADER, lineCsvRow, lineFilterOf, periodDaysCsv } from './downloads.js';
import { ADMIN_LOCALE } from './present-admin.js';
import type { WebRouterDeps as Deps } from './router-deps.js';
import { DEFAULT_TOKEN_TTL_SECONDS, type Subject } from './tokens.js';
import { actorOf, subjectOf, type WebAuth } from './web-auth.js';
import { bigJson, csv, jsonBody, namedAnswers, refusal, requireDisputes } from './web-middleware.js';
import { bodyOf, idField, inputOf, limitField, pathId, pathOf, queryText } from './validation.js';

/**
 * The admin's JSON API (docs/openapi.yaml, /api/v1/admin/…): the dashboard, services and their
 * metering, anomalies and corrections, disputes and their decisions, lines and their evidence, the
 * masters, products and settings, the audit trail, and the minting of tokens.
 */
const Service = z.object({ serviceId: pathId('service') });
const ServicePeriod = z.object({ serviceId: pathId('service'), periodId: pathId('period') });
const Line = z.object({ lineId: pathId('line') });
const Dispute = z.object({ disputeId: pathId('dispute') });
const Anomaly = z.object({ anomalyId: pathId('anomaly') });
const Correction = z.object({ chargeId: pathId('correction') });
const Master = z.object({ masterId: pathId('master') });
const Product = z.object({ productId: pathId('product') });

const DashboardQuery = z.object({ fresh: queryText.transform((v) => v === '1') });
const ServicesQuery = z.object({
  client: idField('client'),
  after: queryText,
  limit: limitField(),
  q: queryText,
});
const SamplesQuery = z.object({ before: queryText, limit: limitField(62, 400) });
const PeriodsQuery = z.object({ before: queryText.transform((v) => v || null), limit: limitField(12, 100) });
const UsagePeriodsQuery = z.object({ limit: limitField(24, 240) });
const PoolsQuery = z.object({
  client: idField('client').refine((v) => v !== null, {
    error: 'client is required: the pools of which client',
  }),
});
const AnomaliesQuery = z.object({
  status: queryText
    .transform((v) => v || 'open')
    .pipe(
      z.enum(['open', 'decided', 'resolved', 'info', 'all'], {
        error: 'status must be open, decided, resolved, info or all',
      }),
    ),
  service: idField('service'),
  before: idField(),
  limit: limitField(),
});
const DisputesQuery = z.object({
  list: queryText.transform((v) => v || 'open'),
  after: queryText,
  limit: limitField(),
});
const PageQuery = z.object({ before: queryText, limit: limitField() });
const AuditQuery = z.object({
  entity_type: queryText,
  entity_id: queryText,
  actor: queryText,
  before: queryText,
  limit: limitField(),
});

const ActiveBody = z.object({ active: z.boolean({ error: 'active must be true or false' }) });
const DecideBody = z.object({
  decision: z.enum(['reset', 'correction'], { error: 'decision must be "reset" or "correction"' }),
  reason: z.string({ error: 'reason is required: say what you checked on the master' }),
});
const SettleBody = z.object({
  action: z.enum(['bill', 'drop'], { error: 'action must be "bill" or "drop"' }),
  reason: z.string({ error: 'reason is required' }),
});
const ADJUSTMENT =
  'adjustment must be {"kind":"precommit"}, {"kind":"share","percent":"50"} or {"kind":"amount","amount":"250.00"}';
const Adjustment = z.union(
  [
    z.object({ kind: z.literal('precommit') }),
    z.object({ kind: z.literal('share'), percent: z.string() }),
    z.object({ kind: z.literal('amount'), amount: z.string() }),
  ],
  { error: ADJUSTMENT },
);
const PreviewBody = z.object({ adjustment: Adjustment });
const wholeNumber = (message: string) =>
  z.number({ error: message }).refine(Number.isSafeInteger, { error: message });
const ResolveBody = z.object({
  to: z.enum(['upheld', 'waived', 'adjusted', 'withdrawn'], {
    error: 'to must be upheld, waived, adjusted or withdrawn',
  }),
  expectedVersion: wholeNumber('expectedVersion must be a whole number').optional(),
  note: z.string({ error: 'note must be text' }).optional(),
  settlement: z.enum(['credit', 'refund'], { error: 'settlement must be credit or refund' }).optional(),
  // read after the dispute's id, and only for an adjusted resolution
  adjustment: z.unknown().optional(),
});
const DisputeBody = z.object({
  reason: z.string({ error: 'reason is required' }),
  overrideReason: z.string({ error: 'overrideReason must be text' }).optional(),
});
// the settings' own rules are the billing settings': an array too is theirs to refuse
const ProductBody = z.object({
  settings: z.union([z.looseObject({}), z.array(z.unknown())], { error: 'settings must be an object' }),
});
const SettingsBody = z.looseObject({}, { error: 'send the settings to change as an object' });
const positive = (message: string) =>
  z.number({ error: message }).refine((n) => Number.isSafeInteger(n) && n >= 1, { error: message });
const TokenBody = z.object({
  type: z.enum(['client', 'admin'], { error: 'type must be client or admin' }),
  id: positive('id must be a positive whole number'),
  ttlSeconds: positive('ttlSeconds must be a positive whole number').optional(),
  readOnly: z.boolean({ error: 'readOnly must be true or false' }).optional(),
});

const adminActor = (res: Response) => actorOf(subjectOf(res));

function serviceRoutes(admin: Router, deps: Deps): void {
  const now = () => deps.clock.now();
  admin.get('/dashboard', async (req, res) => {
    const d = await deps.admin.dashboard({ fresh: inputOf(DashboardQuery, req.query).fresh });
    res.json({
      meteredServices: d.meteredServices,
      openDisputes: d.openDisputes,
      attention: d.attention.map(listedJson(serviceListJson)),
      projected: d.projected.map(projectedJson),
      oldestDisputes: d.oldestDisputes.map(listedJson(disputeRowJson)),
      recentLines: d.recentLines.map(listedJson((l) => lineJson(l, now()))),
      computedAt: new Date(d.asOf).toISOString(),
    });
  });
  admin.get('/services', async (req, res) => {
    const q = inputOf(ServicesQuery, req.query);
    const p = await deps.admin.services({
      after: q.after,
      limit: q.limit,
      q: q.q,
      ...(q.client !== null ? { clientId: q.client } : {}),
    });
    res.json({ services: p.rows.map(listedJson(serviceListJson)), next: p.next });
  });
  admin.get('/services/:serviceId', async (req, res) => {
    const u = await deps.reads.serviceUsage(pathOf(Service, req.params).serviceId);
    res.json({ service: serviceUsageJson(u, null) });
  });
  admin.post('/services/:serviceId/active', jsonBody, async (req, res) => {
    const { active } = bodyOf(ActiveBody, req.body);
    const l = await deps.links.setActive(pathOf(Service, req.params).serviceId, active, adminActor(res));
    deps.widget.invalidate(l.clientId);
    res.json({ serviceId: l.serviceId, active: l.active });
  });
  admin.get('/services/:serviceId/samples', async (req, res) => {
    const { serviceId } = pathOf(Service, req.params);
    await deps.reads.serviceUsage(serviceId);
    const q = inputOf(SamplesQuery, req.query);
    const p = await deps.admin.samples(serviceId, { before: q.before, limit: q.limit });
    res.json({ samples: p.rows.map(sampleJson), next: p.next });
  });
  admin.get('/services/:serviceId/periods', async (req, res) => {
    const { serviceId } = pathOf(Service, req.params);
    await deps.reads.serviceUsage(serviceId);
    const q = inputOf(PeriodsQuery, req.query);
    const p = await deps.reads.periods(serviceId, { before: q.before, limit: q.limit });
    // a period that cannot be read is named in its place (UnreadableRow), the others as usual
    res.json({
      periods: p.rows.map((r) => (isUnreadable(r) ? unreadableJson(r) : periodJson(r))),
      next: p.next,
    });
  });
  admin.get('/services/:serviceId/periods/:periodId/days.csv', async (req, res) => {
    const { serviceId, periodId } = pathOf(ServicePeriod, req.params);
    const { period, days } = everyDay(await deps.reads.periodDays(serviceId, periodId));
    csv(res, `overusage-${serviceId}-${period.startDate}-days.csv`, periodDaysCsv(days));
  });
  admin.get('/services/:serviceId/usage-periods', async (req, res) => {
    const { serviceId } = pathOf(Service, req.params);
    const periods = await deps.usagePeriods.periods(serviceId, {
      limit: inputOf(UsagePeriodsQuery, req.query).limit,
    });
    res.json({ periods: periods.map((p) => usagePeriodJson(p, 'admin')) });
  });
  admin.get('/sync-issues', async (_req, res) => {
    res.json({ notLinked: await deps.syncIssues() });
  });
}

function meteringRoutes(admin: Router, deps: Deps): void {
  admin.get('/pools', async (req, res) => {
    // a client's pools: each rated month with every member's hours, share, days and part
    const client = inputOf(PoolsQuery, req.query).client!;
    bigJson(res, { clientId: client, pools: deps.pools ? await deps.pools.poolPeriods(client) : [] });
  });
  admin.get('/caps', async (_req, res) => {
    const rows = deps.caps ? await deps.caps.service.list() : [];
    // a cap, or the action it caused, that cannot be read is named in its place; the others as usual
    const setAside = logUnreadable(deps.log);
    const reachedOf = async (serviceId: number) => {
      const r = await capActionInForce(deps.knex, serviceId, setAside);
      return r !== null && typeof r === 'object' ? unreadableJson(r) : r;
    };
    const withState = await Promise.all(
      rows.map(async (c) =>
        isUnreadable(c)
          ? unreadableJson(c)
          : {
              ...c,
              setAt: c.setAt.toISO(),
              liftedAt: c.liftedAt?.toISO() ?? null,
              reached: c.status === 'active' ? await reachedOf(c.serviceId) : null,
            },
      ),
    );
    bigJson(res, { caps: withState });
  });
  admin.get('/upgrades', async (_req, res) => {
    // one that cannot be read is named in its place (UnreadableRow)
    res.json({ upgrades: deps.upgrades ? (await deps.upgrades.outcomes()).map(listedJson((u) => u)) : [] });
  });
  admin.get('/anomalies', async (req, res) => {
    const q = inputOf(AnomaliesQuery, req.query);
    const p = await deps.usagePeriods.anomalies(
      { status: q.status, ...(q.service !== null ? { serviceId: q.service } : {}) },
      { before: q.before, limit: q.limit },
    );
    res.json({ anomalies: p.rows.map(listedJson(anomalyJson)), next: p.next });
  });
  admin.post('/anomalies/:anomalyId/decide', jsonBody, async (req, res) => {
    const b = bodyOf(DecideBody, req.body);
    const out = await deps.usagePeriods.decide(pathOf(Anomaly, req.params).anomalyId, b, adminActor(res));
    const s = await deps.reads.serviceUsage(out.anomaly.serviceId).catch(() => null);
    if (s) deps.widget.invalidate(s.service.clientId);
    res.json({
      anomaly: anomalyJson(out.anomaly),
      bookedBytes: out.bookedBytes.toString(),
      rerate: rerateJson(out.rerate),
    });
  });
  admin.get('/corrections', async (_req, res) => {
    res.json({
      // one that cannot be read is named in its place (UnreadableRow), the others as usual
      corrections: (await deps.usagePeriods.corrections()).map((c) =>
        isUnreadable(c)
          ? unreadableJson(c)
          : {
              ...chargeJson(c),
              serviceId: c.serviceId,
              clientId: c.clientId,
              periodStart: c.periodStart,
              periodEnd: c.periodEnd,
            },
      ),
    });
  });
  admin.post('/corrections/:chargeId/settle', jsonBody, async (req, res) => {
    const b = bodyOf(SettleBody, req.body);
    res.json({
      correction: chargeJson(
        await deps.usagePeriods.settleCorrection(pathOf(Correction, req.params).chargeId, b, adminActor(res)),
      ),
    });
  });
}

function disputeRoutes(admin: Router, deps: Deps): void {
  const now = () => deps.clock.now();
  admin.get('/disputes', async (req, res) => {
    const q = inputOf(DisputesQuery, req.query);
    const p = await deps.admin.disputes({ list: q.list, after: q.after, limit: q.limit });
    res.json({ disputes: p.rows.map(listedJson(disputeRowJson)), next: p.next });
  });
  admin.get('/disputes/:disputeId', async (req, res) => {
    const d = await requireDisputes(deps.disputes).get(pathOf(Dispute, req.params).disputeId);
    res.json({ dispute: disputeViewJson(d), line: lineJson(await deps.reads.line(d.lineId), now()) });
  });
  admin.post('/disputes/:disputeId/preview', jsonBody, async (req, res) => {
    const disputes = requireDisputes(deps.disputes);
    const { disputeId } = pathOf(Dispute, req.params);
    const p = await disputes.preview(disputeId, bodyOf(PreviewBody, req.body).adjustment);
    res.json({
      preview: {
        ...money(p.amountMinor, p.currency),
        formatted: formatAmount(p.amountMinor, p.currency, ADMIN_LOCALE),
        explanation: p.explanation,
      },
    });
  });
  admin.post('/disputes/:disputeId/resolve', jsonBody, async (req, res) => {
    const disputes = requireDisputes(deps.disputes);
    const b = bodyOf(ResolveBody, req.body);
    const { disputeId } = pathOf(Dispute, req.params);
    const outcome = await disputes.resolve({
      disputeId,
      to: b.to,
      actor: adminActor(res),
      ...(b.to === 'adjusted' ? { adjustment: inputOf(Adjustment, b.adjustment) } : {}),
      ...(b.note !== undefined ? { note: b.note.slice(0, 2000) } : {}),
      ...(b.expectedVersion !== undefined ? { expectedVersion: b.expectedVersion } : {}),
      ...(b.settlement ? { settlement: b.settlement } : {}),
    });
    if (!outcome.ok) return refusal(res, outcome);
    deps.widget.invalidate(outcome.value.clientId);
    res.json({ dispute: disputeViewJson(outcome.value) });
  });
  admin.post('/lines/:lineId/dispute', deps.limiter.middleware, jsonBody, async (req, res) => {
    const b = bodyOf(DisputeBody, req.body);
    const disputes = requireDisputes(deps.disputes);
    const { lineId } = pathOf(Line, req.params);
    const outcome = await disputes.open({
      lineId,
      reason: b.reason.slice(0, 4000),
      actor: adminActor(res),
      ...(b.overrideReason !== undefined ? { overrideReason: b.overrideReason } : {}),
    });
    if (!outcome.ok) return refusal(res, outcome);
    deps.widget.invalidate(outcome.value.clientId);
    res.status(201).json({ dispute: disputeViewJson(outcome.value) });
  });
}

function lineRoutes(admin: Router, deps: Deps): void {
  const now = () => deps.clock.now();
  admin.get('/lines', async (req, res) => {
    const filter = lineFilterOf(req.query as Record<string, unknown>);
    const q = inputOf(PageQuery, req.query);
    const p = await deps.admin.lines(filter, { before: q.before, limit: q.limit });
    res.json({ lines: p.rows.map(listedJson((l) => lineJson(l, now()))), next: p.next });
  });
  admin.get('/lines.csv', async (req, res) => {
    const filter = lineFilterOf(req.query as Record<string, unknown>);
    let page = await deps.admin.lines(filter, { limit: 1000 });
    res
      .set('Content-Type', 'text/csv; charset=utf-8')
      .set('Content-Disposition', 'attachment; filename="overusage-lines.csv"');
    // a page at a time: an export of 100 000 lines never sits in memory whole
    let head = true;
    for (;;) {
      const body = toCsv(LINES_CSV_HEADER, page.rows.map(lineCsvRow));
      res.write(head ? body : body.slice(body.indexOf('\r\n') + 2));
      head = false;
      if (!page.next) break;
      page = await deps.admin.lines(filter, { before: page.next, limit: 1000 });
    }
    res.end();
  });
  admin.get('/lines/:lineId', async (req, res) => {
    res.json({ line: lineJson(await deps.reads.line(pathOf(Line, req.params).lineId), now()) });
  });
  admin.get('/lines/:lineId/evidence', async (req, res) => {
    res.type('json').send(evidenceJson(await deps.evidence.forLine(pathOf(Line, req.params).lineId)));
  });
  admin.get('/lines/:lineId/days.csv', async (req, res) => {
    const e = await deps.evidence.forLine(pathOf(Line, req.params).lineId);
    csv(res, `${e.line.refCode}-days.csv`, daysCsv(e));
  });
  admin.get('/lines/:lineId/samples.csv', async (req, res) => {
    const e = await deps.evidence.forLine(pathOf(Line, req.params).lineId);
    csv(res, `${e.line.refCode}-samples.csv`, samplesCsv(e));
  });
}

function configRoutes(admin: Router, deps: Deps): void {
  admin.get('/masters', async (_req, res) => {
    // a master whose row does not read is named apart (id, name, column, problem), never fails the list
    res.json(await deps.masters.listAll());
  });
  admin.post('/masters/:masterId/test', async (req, res) => {
    res.json({ report: await deps.masters.test(pathOf(Master, req.params).masterId) });
  });
  admin.get('/products', async (_req, res) => {
    res.json({
      products: (await deps.billing.listProducts()).map((p) => ({
        productId: p.productId,
        settings: p.profile,
      })),
    });
  });
  admin.put('/products/:productId', jsonBody, async (req, res) => {
    const { settings } = bodyOf(ProductBody, req.body);
    const { productId } = pathOf(Product, req.params);
    if (!(await panelHasProduct(deps.panel, productId)))
      throw notFound(`the panel has no product ${productId}`);
    res.json({
      productId,
      settings: await deps.billing.setProduct(productId, settings as never, adminActor(res)),
    });
  });
  admin.get('/settings', async (_req, res) => {
    res.json({ settings: await deps.settings.all() });
  });
  admin.put('/settings', jsonBody, async (req, res) => {
    res.json({ settings: await deps.settings.set(inputOf(SettingsBody, req.body), adminActor(res)) });
  });
  admin.get('/audit', async (req, res) => {
    const q = inputOf(AuditQuery, req.query);
    const filter = {
      entityType: q.entity_type || undefined,
      entityId: q.entity_id || undefined,
      actorType: q.actor || undefined,
    };
    const p = await deps.admin.audit(filter, { before: q.before, limit: q.limit });
    res.json({ entries: p.rows.map(listedJson(auditJson)), next: p.next });
  });
}

/** A client the panel knows, or (without a panel API) one the module meters for. */
async function clientExists(deps: Deps, clientId: number): Promise<boolean> {
  if (deps.panel) {
    return deps.panel.getClientsDetails(clientId).then(
      () => true,
      (err: unknown) => {
        if (err instanceof PanelApiError && err.kind === 'api' && /not found/i.test(err.message))
          return false;
        throw err;
      },
    );
  }
  return (await deps.reads.clientServices(clientId)).length > 0;
}

/** An admin other than the minting one: the panel must say they exist and are enabled. */
async function checkOtherAdmin(deps: Deps, adminId: number): Promise<void> {
  const status = await deps.admins.status(adminId);
  if (status === null)
    throw new ModuleError(
      'NOT_ALLOWED',
      "a token for another admin needs the panel's word that the admin exists, and the panel API cannot be asked",
    );
  if (status !== 'enabled')
    throw notFound(`the panel has no ${status === 'disabled' ? 'enabled ' : ''}admin ${adminId}`);
}

/**
 * Minting: only a full admin token mints, and only tokens no stronger (a full or a read-only
 * one) and no longer-lived than itself, for an admin the panel has (enabled) or a client the
 * panel or the module knows. A token for someone else carries the minting admin (`by`), so what
 * is done with it is audited as that admin acting as them; the minting is audited too.
 */
function tokenRoutes(admin: Router, deps: Deps): void {
  admin.post('/tokens', jsonBody, async (req, res) => {
    const v = subjectOf(res);
    if (v.scope !== 'full') throw new ModuleError('NOT_ALLOWED', 'only a full admin token mints tokens');
    const b = bodyOf(TokenBody, req.body);
    const left = v.expiresAt - Math.floor(deps.now() / 1000);
    const ttl = b.ttlSeconds ?? Math.min(DEFAULT_TOKEN_TTL_SECONDS, left);
    if (ttl > left) throw invalidInput(`a token cannot outlive the one that mints it (${left} seconds left)`);
    const subject: Subject = { type: b.type, id: b.id };
    const self = subject.type === 'admin' && subject.id === v.id;
    if (subject.type === 'admin' && !self) await checkOtherAdmin(deps, subject.id);
    if (subject.type === 'client' && !(await clientExists(deps, subject.id)))
      throw notFound(`the panel has no client ${subject.id}`);
    const by = self ? v.by : (v.by ?? v.id);
    const scope = b.readOnly === true ? 'read' : 'full';
    const t = deps.signer.issue(subject, { ttlSeconds: ttl, scope, by, bound: v.bound });
    const expiresAt = new Date(t.expiresAt * 1000).toISOString();
    await auditLog.record(
      deps.knex,
      {
        actor: adminActor(res),
        action: 'token.issued',
        entityType: subject.type,
        entityId: subject.id,
        details: { scope, expiresAt, ...(by !== null ? { actingAdmin: by } : {}) },
      },
      deps.clock.now(),
    );
    res.status(201).json({ token: t.token, expiresAt, subject });
  });
}

/** /api/v1/admin: an admin's token only; the panel's names beside the ids. */
export function createAdminRouter(deps: Deps, auth: WebAuth): Router {
  const admin = express.Router();
  admin.use(auth.authenticate('admin'));
  admin.use(namedAnswers(deps.names, deps.log));
  serviceRoutes(admin, deps);
  meteringRoutes(admin, deps);
  disputeRoutes(admin, deps);
  lineRoutes(admin, deps);
  configRoutes(admin, deps);
  tokenRoutes(admin, deps);
  return admin;
}
