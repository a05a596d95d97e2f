import express, { type Response, type Router } from 'express';
import { z } from 'zod';
import { capActionInForce } from '../services/caps.js';
import { isUnreadable, logUnreadable, loggedError, readableOf } from '../adapters/rows.js';
import { everyDay } from '../services/usage-reads.js';
import { moneyToDecimalString } from '../domain/money.js';
import { ModuleError } from '../domain/errors.js';
import { daysCsv, evidenceJson, samplesCsv } from '../services/evidence.js';
import {
  clientDisputeJson,
  clientLineJson,
  dayJson,
  periodJson,
  serviceRowJson,
  serviceUsageJson,
  usagePeriodJson,
} from './api-json.js';
import { periodDaysCsv } from './downloads.js';
import type { WebRouterDeps as Deps } from './router-deps.js';
import { actorOf, subjectOf, type WebAuth } from './web-auth.js';
import { csv, jsonBody, namedAnswers, refusal, requireDisputes } from './web-middleware.js';
import { bodyOf, idField, inputOf, limitField, pathId, pathOf, queryText } from './validation.js';

/**
 * The client's JSON API (docs/openapi.yaml, /api/v1/client/…): their own services, periods, lines,
 * evidence, disputes and caps. Anything of another client's answers 404, as if it did not exist.
 */
const Service = z.object({ serviceId: pathId('service') });
const ServicePeriod = z.object({ serviceId: pathId('service'), periodId: pathId('period') });
const Line = z.object({ lineId: pathId('line') });
const Dispute = z.object({ disputeId: pathId('dispute') });
const PeriodsQuery = z.object({ before: queryText.transform((v) => v || null), limit: limitField(12, 100) });
const UsagePeriodsQuery = z.object({ limit: limitField(24, 240) });
const LinesQuery = z.object({ service: idField('service'), before: idField(), limit: limitField() });
const DisputeBody = z.object({
  reason: z.string({ error: 'reason is required: say why you dispute this line' }),
});
// the cap's own rules (kinds, amounts, actions) are the cap service's: it refuses with their words
const CapBody = z.object({
  kind: z.unknown().optional(),
  amount: z.unknown().optional(),
  action: z.unknown().optional(),
});

const me = (res: Response) => subjectOf(res).id;

function serviceRoutes(client: Router, deps: Deps): void {
  client.get('/services', async (_req, res) => {
    const clientId = me(res);
    const [rows, labels] = await Promise.all([
      deps.reads.clientServices(clientId),
      deps.widget.labels(clientId),
    ]);
    // a service whose record cannot be read: its id and that it is unavailable, nothing of why
    res.json({
      services: rows.map((s) =>
        isUnreadable(s)
          ? { serviceId: s.id, unavailable: true }
          : serviceRowJson(s, labels.get(s.serviceId) ?? null),
      ),
    });
  });
  client.get('/services/:serviceId', async (req, res) => {
    const clientId = me(res);
    const u = await deps.reads.serviceUsage(pathOf(Service, req.params).serviceId, { clientId });
    res.json({
      service: serviceUsageJson(u, (await deps.widget.labels(clientId)).get(u.service.serviceId) ?? null),
    });
  });
  client.get('/services/:serviceId/periods', async (req, res) => {
    const { serviceId } = pathOf(Service, req.params);
    const q = inputOf(PeriodsQuery, req.query);
    const p = await deps.reads.periods(serviceId, { clientId: me(res), before: q.before, limit: q.limit });
    // a period that cannot be read: its id and that it is unavailable, no figure, nothing of why
    res.json({
      periods: p.rows.map((r) => (isUnreadable(r) ? { id: r.id, unavailable: true } : periodJson(r))),
      next: p.next,
    });
  });
  client.get('/services/:serviceId/usage-periods', async (req, res) => {
    const { serviceId } = pathOf(Service, req.params);
    // the client's own view: what metering found, without the operators' notes
    const periods = await deps.usagePeriods.periods(serviceId, {
      clientId: me(res),
      limit: inputOf(UsagePeriodsQuery, req.query).limit,
    });
    res.json({ periods: periods.map((p) => usagePeriodJson(p, 'client')) });
  });
  client.get('/services/:serviceId/periods/:periodId/days', async (req, res) => {
    const { serviceId, periodId } = pathOf(ServicePeriod, req.params);
    const { period, days } = everyDay(
      await deps.reads.periodDays(serviceId, periodId, { clientId: me(res) }),
    );
    res.json({ period: periodJson(period), days: days.map(dayJson) });
  });
  client.get('/services/:serviceId/periods/:periodId/days.csv', async (req, res) => {
    const { serviceId, periodId } = pathOf(ServicePeriod, req.params);
    const { period, days } = everyDay(
      await deps.reads.periodDays(serviceId, periodId, { clientId: me(res) }),
    );
    csv(res, `overusage-${serviceId}-${period.startDate}-days.csv`, periodDaysCsv(days));
  });
}

function lineRoutes(client: Router, deps: Deps): void {
  const now = () => deps.clock.now();
  client.get('/lines', async (req, res) => {
    const q = inputOf(LinesQuery, req.query);
    const p = await deps.reads.lines(
      { clientId: me(res), ...(q.service !== null ? { serviceId: q.service } : {}) },
      { before: q.before, limit: q.limit },
    );
    const readable = readableOf(p.rows);
    const credits = await deps.widget.credits(me(res), readable);
    // a line that cannot be read: its id and that it is unavailable, no amount, nothing of why
    res.json({
      lines: p.rows.map((l) =>
        isUnreadable(l) ? { id: l.id, unavailable: true } : clientLineJson(l, now(), credits.get(l.id)),
      ),
      next: p.next,
    });
  });
  client.get('/lines/:lineId', async (req, res) => {
    const line = await deps.reads.line(pathOf(Line, req.params).lineId, { clientId: me(res) });
    res.json({
      line: clientLineJson(line, now(), (await deps.widget.credits(me(res), [line])).get(line.id)),
    });
  });
  client.get('/lines/:lineId/evidence', async (req, res) => {
    res
      .type('json')
      .send(
        evidenceJson(await deps.evidence.forLine(pathOf(Line, req.params).lineId, { clientId: me(res) })),
      );
  });
  client.get('/lines/:lineId/days.csv', async (req, res) => {
    const e = await deps.evidence.forLine(pathOf(Line, req.params).lineId, { clientId: me(res) });
    csv(res, `${e.line.refCode}-days.csv`, daysCsv(e));
  });
  client.get('/lines/:lineId/samples.csv', async (req, res) => {
    const e = await deps.evidence.forLine(pathOf(Line, req.params).lineId, { clientId: me(res) });
    csv(res, `${e.line.refCode}-samples.csv`, samplesCsv(e));
  });
}

function disputeRoutes(client: Router, deps: Deps): void {
  client.post('/lines/:lineId/dispute', deps.limiter.middleware, jsonBody, async (req, res) => {
    const disputes = requireDisputes(deps.disputes);
    const clientId = me(res);
    const { lineId } = pathOf(Line, req.params);
    const { reason } = bodyOf(DisputeBody, req.body);
    const outcome = await disputes.open({
      lineId,
      reason: reason.slice(0, 4000),
      actor: actorOf(subjectOf(res)),
    });
    deps.widget.invalidate(clientId);
    if (!outcome.ok) return refusal(res, outcome);
    res.status(201).json({ dispute: clientDisputeJson(outcome.value) });
  });
  client.get('/disputes/:disputeId', async (req, res) => {
    const disputes = requireDisputes(deps.disputes);
    res.json({
      dispute: clientDisputeJson(
        await disputes.get(pathOf(Dispute, req.params).disputeId, { clientId: me(res) }),
      ),
    });
  });
  client.post('/disputes/:disputeId/withdraw', jsonBody, async (req, res) => {
    const disputes = requireDisputes(deps.disputes);
    const clientId = me(res);
    const { disputeId } = pathOf(Dispute, req.params);
    await disputes.get(disputeId, { clientId });
    const outcome = await disputes.resolve({ disputeId, to: 'withdrawn', actor: actorOf(subjectOf(res)) });
    deps.widget.invalidate(clientId);
    if (!outcome.ok) return refusal(res, outcome);
    res.json({ dispute: clientDisputeJson(outcome.value) });
  });
}

const requireCaps = (deps: Deps) => {
  if (!deps.caps) throw new ModuleError('NOT_FOUND', 'spending caps are not available here');
  return deps.caps;
};

/** the cap as the client sees it: money as a decimal string with its currency, bytes as a string */
async function capJson(deps: Deps, clientId: number, serviceId: number) {
  const caps = requireCaps(deps);
  // his own services only: another client's is answered as not found
  await deps.reads.serviceUsage(serviceId, { clientId });
  const [cap, options, reached] = await Promise.all([
    caps.service.get(serviceId),
    caps.service.options(serviceId),
    capActionInForce(deps.knex, serviceId, logUnreadable(deps.log)),
  ]);
  return {
    serviceId,
    cap: cap
      ? {
          kind: cap.kind,
          amount:
            cap.kind === 'money'
              ? moneyToDecimalString({ amountMinor: cap.amount, currency: cap.currency! })
              : cap.amount.toString(),
          currency: cap.currency,
          action: cap.action,
          setAt: cap.setAt.toISO(),
        }
      : null,
    // a row that cannot be read: the client learns only that it cannot be told now (the admin the log line)
    reached: reached !== null && typeof reached === 'object' ? 'unavailable' : reached,
    options,
  };
}

function capRoutes(client: Router, deps: Deps): void {
  // the server is put back (or held) at once, not at the next cron tick
  const applyNow = (serviceId: number) =>
    requireCaps(deps)
      .applyNow()
      .catch((err: unknown) => deps.log.warn('api.cap_apply_failed', { serviceId, ...loggedError(err) }));
  client.get('/services/:serviceId/cap', async (req, res) => {
    res.json(await capJson(deps, me(res), pathOf(Service, req.params).serviceId));
  });
  client.put('/services/:serviceId/cap', jsonBody, async (req, res) => {
    const caps = requireCaps(deps);
    const clientId = me(res);
    const { serviceId } = pathOf(Service, req.params);
    const b = bodyOf(CapBody, req.body);
    await caps.service.set(
      clientId,
      serviceId,
      { kind: b.kind, amount: b.amount, action: b.action },
      actorOf(subjectOf(res)),
    );
    deps.widget.invalidate(clientId);
    await applyNow(serviceId);
    res.json(await capJson(deps, clientId, serviceId));
  });
  client.post('/services/:serviceId/cap/lift', jsonBody, async (req, res) => {
    const caps = requireCaps(deps);
    const clientId = me(res);
    const { serviceId } = pathOf(Service, req.params);
    await caps.service.lift(clientId, serviceId, actorOf(subjectOf(res)));
    deps.widget.invalidate(clientId);
    await applyNow(serviceId);
    res.json(await capJson(deps, clientId, serviceId));
  });
}

/** /api/v1/client: a client's token only; their own names beside their own ids. */
export function createClientRouter(deps: Deps, auth: WebAuth): Router {
  const client = express.Router();
  client.use(auth.authenticate('client'));
  client.use(namedAnswers(deps.names, deps.log));
  serviceRoutes(client, deps);
  lineRoutes(client, deps);
  disputeRoutes(client, deps);
  capRoutes(client, deps);
  return client;
}
