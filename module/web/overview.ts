import type { Knex } from 'knex';
import path from 'node:path';
import ejs from 'ejs';
import { humanBytes } from '../domain/bytes.js';
import { toBig, toNum } from '../adapters/rows.js';
import type { MasterService } from '../services/masters.js';

const VIEWS = path.resolve(import.meta.dirname, '..', '..', 'views');

/**
 * The admin tab's first page: masters, linked services and the latest sampling runs. The full
 * tab (dashboard, disputes, lines, settings) grows on this.
 */
export function createAdminOverview(deps: { knex: Knex; masters: MasterService }) {
  return async (vars: { modulelink?: string }): Promise<string> => {
    const masters = await deps.masters.list();
    const linked = await deps.knex('mod_overusage_services').where({ active: true }).count({ n: '*' }).first();
    const runs = await deps.knex('mod_overusage_runs').orderBy('id', 'desc').limit(10);
    return ejs.renderFile(path.join(VIEWS, 'admin', 'overview.ejs'), {
      modulelink: vars.modulelink ?? '',
      masters,
      linkedServices: toNum(linked?.n ?? 0),
      runs: runs.map((r) => ({
        id: toNum(r.id),
        date: String(r.sample_date),
        status: String(r.status),
        read: toNum(r.read_ok),
        failed: toNum(r.failed),
        gaps: toNum(r.gaps),
        resets: toNum(r.resets),
        message: r.message ? String(r.message) : '',
      })),
    });
  };
}

/** The client page's view-model: the client's VPSs with their open period so far. */
export function createClientArea(deps: { knex: Knex }) {
  return async (vars: { clientid?: number | null; modulelink?: string }) => {
    const clientId = vars.clientid ?? 0;
    const rows = await deps.knex('mod_overusage_services as s')
      .leftJoin('mod_overusage_periods as p', 'p.id', 's.open_period_id')
      .where('s.client_id', clientId)
      .andWhere('s.active', true)
      .select('s.service_id', 's.last_sample_date', 'p.start_date', 'p.end_date', 'p.used_bytes')
      .orderBy('s.service_id');
    return {
      pagetitle: 'Bandwidth usage',
      breadcrumb: { [vars.modulelink ?? 'index.php?m=overusage']: 'Bandwidth usage' },
      templatefile: 'usage',
      requirelogin: true,
      vars: {
        services: rows.map((r) => ({
          serviceId: toNum(r.service_id),
          periodStart: r.start_date ? String(r.start_date) : null,
          periodEnd: r.end_date ? String(r.end_date) : null,
          used: r.used_bytes === null || r.used_bytes === undefined ? null : humanBytes(toBig(r.used_bytes)),
          lastSample: r.last_sample_date ? String(r.last_sample_date) : null,
        })),
      },
    };
  };
}
