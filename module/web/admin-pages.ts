import { invalidInput, notFound } from '../domain/errors.js';
import { ADMIN_TEXT } from './admin-words.js';
import { readableOf } from '../adapters/rows.js';
import { decidedFigures, explainCharge } from '../domain/line-text.js';
import type { DisputeRow, LineFilter, ServiceListRow } from '../services/admin-reads.js';
import type { LineEvidence } from '../services/evidence.js';
import type { AnomalyRow, HeldCorrection } from '../services/usage-periods.js';
import { idCursor, type LineRow } from '../services/usage-reads.js';
import {
  ADMIN_LOCALE,
  lineFilterQuery,
  presentAnomaly,
  presentAudit,
  presentCorrection,
  presentDashboard,
  presentWaitingCharge,
  presentDisputeRow,
  presentLineRow,
  presentMaster,
  presentUnreadableMaster,
  orUnreadable,
  presentProduct,
  presentSamples,
  presentServiceListRow,
  type AdminCtx,
  type Href,
} from './present-admin.js';
import { presentService, type WidgetLinks } from './present-usage.js';
import { wordsFor } from './words.js';
import { lineFilterOf } from './downloads.js';
import { poolsPage } from './admin-pools.js';
import { masterForm, PRICE_ROWS, productForm, SIZE_UNITS } from './admin-forms.js';
import { str, type Acted, type AdminEnv } from './admin-actions.js';

/**
 * The admin tab's pages (`?a=`): each builds the data its view (views/admin/tab.ejs) shows, from
 * the query, the POST's form and what the POST's action came to.
 */

/** Where the page's download links go: the JSON API with a read-only token, or through the host's page. */
export interface FileLinks {
  lineCsv(id: number): string;
  samplesCsv(id: number): string;
  evidence(id: number): string;
  periodCsv(serviceId: number, periodId: number): string;
  linesCsv(f: LineFilter): string;
}

export interface PageInput {
  env: AdminEnv;
  q: Record<string, string>;
  body: Record<string, string>;
  ctx: AdminCtx;
  files: FileLinks;
  /** what the POST's action came to (nothing on a GET) */
  done: Acted;
}

type Page = (p: PageInput) => Promise<Record<string, unknown>>;

const LINE_FILTER_STATUSES = ['pending', 'placed', 'held', 'waived', 'released'];

/** `?a=disputes&list=open`: the lists a page offers, the current one marked. */
const listLinks = (href: Href, a: string, names: string[], current: string) =>
  names.map((l) => ({ name: l, href: href({ a, list: l }), current: l === current }));

const dashboard: Page = async ({ env: { deps }, q, ctx }) => {
  const [d, waiting, charges] = await Promise.all([
    deps.admin.dashboard({ fresh: str(q.fresh) === '1' }),
    deps.usagePeriods.waiting(),
    deps.admin.waitingCharges(),
  ]);
  return {
    ...presentDashboard(d, ctx),
    waiting,
    waitingCharges: charges.map((c) => presentWaitingCharge(c, ctx)),
    anomaliesHref: ctx.href({ a: 'anomalies' }),
  };
};

const anomalies: Page = async ({ env: { deps }, q, ctx }) => {
  const { href } = ctx;
  const list = str(q.list) || 'open';
  if (!['open', 'all'].includes(list)) throw invalidInput('list is open or all');
  const [p, corrections] = await Promise.all([
    deps.usagePeriods.anomalies({ status: list as 'open' | 'all' }, { before: idCursor(str(q.before)) }),
    deps.usagePeriods.corrections(),
  ]);
  return {
    list,
    lists: listLinks(href, 'anomalies', ['open', 'all'], list),
    rows: p.rows.map(orUnreadable((a: AnomalyRow) => presentAnomaly(a, ctx))),
    next: p.next ? href({ a: 'anomalies', list, before: p.next }) : null,
    corrections: corrections.map(orUnreadable((c: HeldCorrection) => presentCorrection(c, ctx))),
    action: href({ a: 'anomalies', list }),
  };
};

const services: Page = async ({ env: { deps }, q, ctx }) => {
  const { href, panel } = ctx;
  const search = str(q.q).trim();
  const keep = search ? { q: search } : {};
  const [p, issues] = await Promise.all([
    deps.admin.services({ after: str(q.after), q: search }),
    deps.syncIssues(),
  ]);
  return {
    search,
    searchForm: href({ a: 'services' }),
    rows: p.rows.map(orUnreadable((s: ServiceListRow) => presentServiceListRow(s, ctx))),
    next: p.next ? href({ a: 'services', ...keep, after: p.next }) : null,
    first: str(q.after) ? href({ a: 'services', ...keep }) : null,
    all: search ? href({ a: 'services' }) : null,
    notLinked: issues.map((x) => ({
      ...x,
      serviceHref: panel?.service(x.serviceId) ?? null,
      clientHref: panel?.client(x.clientId) ?? null,
    })),
  };
};

/** One service: the client's own view of it (present-usage.ts) and the admin's rows beside it. */
const service: Page = async ({ env, q, ctx, files }) => {
  const { deps } = env;
  const { href, panel } = ctx;
  const id = idCursor(str(q.id), 'service');
  if (id === null) throw notFound('which service?');
  const usage = await deps.reads.serviceUsage(id);
  const [periods, samples, lines, label, anomalyPage, charges] = await Promise.all([
    deps.reads.periods(id, { before: str(q.periods) || null, limit: 12 }),
    deps.admin.samples(id, { before: str(q.samples), limit: 31 }),
    deps.reads.lines({ serviceId: id }, { before: idCursor(str(q.lines)), limit: 25 }),
    env.serviceLabel(id),
    deps.usagePeriods.anomalies({ serviceId: id, status: 'all' }, { limit: 50 }),
    deps.admin.waitingCharges({ serviceId: id }),
  ]);
  const links: WidgetLinks = {
    service: (sid) => href({ a: 'service', id: sid }),
    form: (sid) => href({ a: 'service', id: sid }),
    periodCsv: files.periodCsv,
    lineCsv: files.lineCsv,
    morePeriods: (sid, cursor) => href({ a: 'service', id: sid, periods: cursor }),
    periodChart: (sid, pid) => href({ a: 'service', id: sid, period: pid }),
  };
  const periodId = idCursor(str(q.period), 'period');
  const focus = periodId === null ? null : await deps.reads.periodDays(id, periodId);
  const s = presentService(usage, label, periods, readableOf(lines.rows), {
    locale: ADMIN_LOCALE,
    now: ctx.now,
    links,
    focus,
    named: (u) => ADMIN_TEXT.unreadableNote(u.id, u.unreadable.column, u.unreadable.reason),
    namedRows: {
      period: (u) => ADMIN_TEXT.unreadablePeriod(u.id, u.unreadable.column, u.unreadable.reason),
      interval: (u) => ADMIN_TEXT.unreadableInterval(u.id, u.unreadable.column, u.unreadable.reason),
    },
  });
  const master = (await deps.masters.list()).find((m) => m.id === usage.service.masterId);
  return {
    s,
    w: wordsFor('en'),
    service: { ...usage.service, serviceId: id },
    masterName: master?.name ?? null,
    clientHref: panel?.client(usage.service.clientId) ?? null,
    panelHref: panel?.service(id) ?? null,
    samples: presentSamples(samples, usage.unit, deps.zone),
    samplesNext: samples.next ? href({ a: 'service', id, samples: samples.next }) : null,
    lines: lines.rows.map(orUnreadable((l: LineRow) => presentLineRow(l, ctx))),
    linesNext: lines.next ? href({ a: 'service', id, lines: lines.next }) : null,
    anomalies: anomalyPage.rows.map(orUnreadable((a: AnomalyRow) => presentAnomaly(a, ctx))),
    anomalyAction: href({ a: 'service', id }),
    waitingCharges: charges.map((c) => presentWaitingCharge(c, ctx)),
  };
};

const disputes: Page = async ({ env: { deps }, q, ctx }) => {
  const list = str(q.list) || 'open';
  const p = await deps.admin.disputes({ list, after: str(q.after) });
  return {
    list,
    lists: listLinks(ctx.href, 'disputes', ['open', 'resolved', 'all'], list),
    rows: p.rows.map(orUnreadable((d: DisputeRow) => presentDisputeRow(d, ctx))),
    next: p.next ? ctx.href({ a: 'disputes', list, after: p.next }) : null,
  };
};

/** Every figure of a line's charge as it bills now, and, after a decision, what it was first billed. */
function explainDecided(ev: LineEvidence, line: Parameters<typeof decidedFigures>[0]): string[] {
  const decided = decidedFigures(line);
  const before = ev.ratedBeforeDecision;
  return explainCharge(
    ev.rated,
    ADMIN_LOCALE,
    decided && before ? { ...decided, ratedBefore: before } : decided,
  );
}

const dispute: Page = async ({ env: { deps }, q, body, ctx, files, done }) => {
  const id = idCursor(str(q.id), 'dispute');
  const d = id === null ? null : await deps.admin.dispute(id);
  if (!d) throw notFound('that dispute does not exist');
  const [ev, line] = await Promise.all([deps.evidence.forLine(d.lineId), deps.reads.line(d.lineId)]);
  const canResolve = !!deps.disputes && d.state === 'open' && !d.resolvingTo;
  return {
    d: presentDisputeRow(d, ctx),
    explanation: explainDecided(ev, line),
    files: {
      days: files.lineCsv(d.lineId),
      samples: files.samplesCsv(d.lineId),
      evidence: files.evidence(d.lineId),
    },
    form: {
      to: str(body.to),
      kind: str(body.kind) || 'precommit',
      percent: str(body.percent),
      amount: str(body.amount),
      note: str(body.note),
      settlement: str(body.settlement),
    },
    preview: done.preview ?? null,
    lineHref: ctx.href({ a: 'line', id: d.lineId }),
    canResolve,
    // paid before its dispute, or on the held invoice the admin published: credit or refund
    refundDecision:
      d.holdState === 'refund_decision' || (canResolve && (await deps.disputes!.givesMoneyBack(d.id))),
  };
};

const lines: Page = async ({ env: { deps }, q, ctx, files }) => {
  const filter = lineFilterOf(q);
  const p = await deps.admin.lines(filter, { before: str(q.before) });
  return {
    filter: {
      q: filter.q ?? '',
      status: filter.status ?? '',
      client: filter.clientId ?? '',
      service: filter.serviceId ?? '',
      invoice: filter.invoiceId ?? '',
    },
    // the statuses a line can be filtered by, each named as the line rows name it
    statuses: LINE_FILTER_STATUSES.map((value) => ({
      value,
      label: wordsFor('en').lineStatus[value] ?? value,
    })),
    rows: p.rows.map(orUnreadable((l: LineRow) => presentLineRow(l, ctx))),
    next: p.next ? ctx.href({ a: 'lines', ...lineFilterQuery(filter), before: p.next }) : null,
    csv: files.linesCsv(filter),
  };
};

const line: Page = async ({ env: { deps }, q, ctx, files }) => {
  const id = idCursor(str(q.id), 'line');
  if (id === null) throw notFound('which line?');
  const l = await deps.reads.line(id);
  const ev = await deps.evidence.forLine(id);
  return {
    l: presentLineRow(l, ctx),
    explanation: explainDecided(ev, l),
    files: { days: files.lineCsv(id), samples: files.samplesCsv(id), evidence: files.evidence(id) },
    canOpen: !!deps.disputes && !l.dispute && ['placed', 'held'].includes(l.status),
    windowOpen: ctx.now.toMillis() < Date.parse(l.deadlineClosesAt),
  };
};

const settings: Page = async ({ env, body, ctx, done }) => {
  const { deps } = env;
  const { href } = ctx;
  const [listing, products, names, values] = await Promise.all([
    deps.masters.listAll(),
    deps.billing.listProducts(),
    env.productNames(),
    deps.settings.all(),
  ]);
  const report = done.report;
  return {
    masters: listing.masters.map((m) =>
      presentMaster(m, report && report.masterId === m.id ? report.report : null),
    ),
    // a master whose row does not read is named with the column, the others listed as usual
    unreadableMasters: listing.unreadable.map(presentUnreadableMaster),
    products: products.map((p) => ({
      ...presentProduct(p.productId, p.profile, names.get(p.productId) ?? `product ${p.productId}`),
      editHref: href({ a: 'product', id: p.productId }),
    })),
    newProductHref: href({ a: 'product' }),
    newMasterHref: href({ a: 'master' }),
    masterHref: (id: number) => href({ a: 'master', id }),
    settings: values,
    newProduct:
      str(body.do) === 'save_product' && done.flash?.kind === 'error'
        ? { id: str(body.product), json: str(body.settings) }
        : { id: '', json: '' },
  };
};

/** A product's billing settings as a form; `id` empty: a product not billed yet. */
const product: Page = async ({ env, q, body, ctx, done }) => {
  const { deps } = env;
  const { href } = ctx;
  const id = str(q.id) === '' ? null : idCursor(str(q.id), 'product');
  const [stored, names, billed] = await Promise.all([
    id === null ? null : deps.billing.getProduct(id),
    env.productNames(),
    deps.billing.listProducts(),
  ]);
  if (id !== null && !stored && !names.has(id) && deps.panel)
    throw notFound(`the panel has no product ${id}`);
  const billedIds = new Set(billed.map((b) => b.productId));
  const form = done.form;
  return {
    id,
    name: id === null ? null : (names.get(id) ?? `product ${id}`),
    isNew: !stored,
    values: form?.values ?? productForm(stored),
    errors: form?.errors ?? {},
    preview: form?.preview ?? null,
    priceRows: PRICE_ROWS,
    sizeUnits: SIZE_UNITS,
    choices: [...names].filter(([pid]) => !billedIds.has(pid)).map(([pid, name]) => ({ id: pid, name })),
    action: href({ a: 'product', ...(id === null ? {} : { id }) }),
    back: href({ a: 'settings' }),
    product: id === null ? str(body.product) : String(id),
  };
};

/** a master the test report is shown against before it is saved */
const UNSAVED_MASTER = {
  id: 0,
  name: '',
  version: 1,
  baseUrl: '',
  tlsMode: 'verify',
  tlsFingerprint: null,
  timeZone: '',
  resetPolicy: 'first_of_month',
  anniversaryFrom: 'solusvm',
  concurrency: 1,
  timeoutMs: 1000,
  retries: 0,
  active: true,
  hasBasicAuth: false,
  panelServerId: null,
  apiUserType: 'admin',
  unitLabels: 'binary',
} as const;

const master: Page = async ({ env: { deps }, q, ctx, done }) => {
  const id = str(q.id) === '' ? null : idCursor(str(q.id), 'master');
  const current = id === null ? null : await deps.masters.get(id);
  const form = done.form;
  return {
    id,
    current: current
      ? { name: current.name, hasBasicAuth: current.hasBasicAuth, version: current.version }
      : null,
    values: form?.values ?? masterForm(current),
    errors: form?.errors ?? {},
    report: form?.report ? presentMaster(current ?? UNSAVED_MASTER, form.report).report : null,
    action: ctx.href({ a: 'master', ...(id === null ? {} : { id }) }),
    back: ctx.href({ a: 'settings' }),
  };
};

const audit: Page = async ({ env: { deps }, q, ctx }) => {
  const filter = {
    entityType: str(q.entity_type).trim() || undefined,
    entityId: str(q.entity_id).trim() || undefined,
    actorType: str(q.actor).trim() || undefined,
  };
  const p = await deps.admin.audit(filter, { before: str(q.before) });
  const keep = { entity_type: filter.entityType, entity_id: filter.entityId, actor: filter.actorType };
  return {
    filter: {
      entityType: filter.entityType ?? '',
      entityId: filter.entityId ?? '',
      actor: filter.actorType ?? '',
    },
    rows: presentAudit(p, deps.zone),
    next: p.next ? ctx.href({ a: 'audit', ...keep, before: p.next }) : null,
  };
};

const pools: Page = ({ env, ctx }) => poolsPage(env.pools, ctx.href);

export const PAGES: Record<string, Page> = {
  dashboard,
  anomalies,
  services,
  service,
  disputes,
  dispute,
  lines,
  line,
  settings,
  product,
  master,
  pools,
  audit,
};

/** The page's data; a page that does not exist is NOT_FOUND. */
export async function pageData(page: string, input: PageInput): Promise<Record<string, unknown>> {
  if (!Object.hasOwn(PAGES, page)) throw notFound(`there is no page "${page}"`);
  return PAGES[page]!(input);
}
