/**
 * Every list is read one page at a time (LIMIT/OFFSET with a COUNT), so a table of 100 000 rows
 * costs one page of rows per request.
 */
import type { Knex } from 'knex';
import { intCell } from '../db/rows.js';

export interface Page<T> {
  rows: T[];
  total: number;
  page: number;
  pages: number;
  perPage: number;
}

export interface Pager {
  page: number;
  pages: number;
  total: number;
  first: number;
  last: number;
  prevHref: string | null;
  nextHref: string | null;
}

/** ?page=N, 1-based; anything unreadable is page 1. */
export function pageParam(v: unknown): number {
  const s = typeof v === 'string' ? v : '';
  return /^\d{1,7}$/.test(s) && Number(s) > 0 ? Number(s) : 1;
}

/** Counts `base`, then reads one page of it with `select`. */
export async function readPage<T>(
  base: Knex.QueryBuilder,
  page: number,
  perPage: number,
  select: (q: Knex.QueryBuilder) => Knex.QueryBuilder,
  map: (row: Record<string, unknown>) => T,
): Promise<Page<T>> {
  const counted = await base.clone().clearSelect().clearOrder().count({ n: '*' });
  const total = intCell((counted[0] as Record<string, unknown> | undefined)?.n);
  const pages = Math.max(1, Math.ceil(total / perPage));
  const current = Math.min(Math.max(1, page), pages);
  const rows =
    total === 0
      ? []
      : await select(base.clone())
          .offset((current - 1) * perPage)
          .limit(perPage);
  return { rows: (rows as Record<string, unknown>[]).map(map), total, page: current, pages, perPage };
}

/** Links to the previous and next page, keeping the list's other parameters. */
export function pagerFor(
  p: Page<unknown>,
  path: string,
  params: Record<string, string | number | undefined>,
): Pager {
  const href = (page: number) => {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') qs.set(k, String(v));
    if (page > 1) qs.set('page', String(page));
    const s = qs.toString();
    return s ? `${path}?${s}` : path;
  };
  return {
    page: p.page,
    pages: p.pages,
    total: p.total,
    first: p.total === 0 ? 0 : (p.page - 1) * p.perPage + 1,
    last: Math.min(p.total, p.page * p.perPage),
    prevHref: p.page > 1 ? href(p.page - 1) : null,
    nextHref: p.page < p.pages ? href(p.page + 1) : null,
  };
}
