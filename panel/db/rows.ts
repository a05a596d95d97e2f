import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import { toNum } from '../../module/adapters/rows.js';
import { formatDecimal, decimalAtScaleExact } from '../domain/money.js';

/**
 * One reader for the panel's cells, identical on both engines. Money and rates come back as
 * exact decimal strings (MySQL DECIMAL, SQLite TEXT) and become bigint minor units here; INT
 * comes back as number (mysql2) or bigint (better-sqlite3 with safe integers); DATE and DATETIME
 * come back as their text on both.
 */
export function moneyCell(v: unknown, scale = 2): bigint {
  if (typeof v === 'bigint') return v * 10n ** BigInt(scale);
  if (typeof v !== 'string') throw new TypeError(`not a decimal cell: ${String(v)}`);
  const minor = decimalAtScaleExact(v, scale, 20);
  if (minor === null) throw new TypeError(`not a decimal cell: ${v}`);
  return minor;
}

/** Money as written to a cell on both engines: the canonical decimal string. */
export const sqlMoney = (minor: bigint, scale = 2): string => formatDecimal(minor, scale);

export const intCell = (v: unknown): number => (v === null || v === undefined ? 0 : toNum(v));

export const flagCell = (v: unknown): boolean => v === true || v === 1 || v === 1n || v === '1' || v === 'on';

export const textCell = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

/** DATE: null for NULL and WHMCS's zero-date. */
export function dateCell(v: unknown): string | null {
  if (v === null || v === undefined || v === '') return null;
  const s = String(v).slice(0, 10);
  return s === '0000-00-00' ? null : s;
}

/** DATETIME as 'YYYY-MM-DD HH:mm:ss' (the panel's wall-clock time, as WHMCS stores it). */
export function datetimeCell(v: unknown): string | null {
  if (v === null || v === undefined || v === '') return null;
  const s = String(v).slice(0, 19);
  return s.startsWith('0000-00-00') ? null : s;
}

/** WHMCS writes datetimes in the panel's local time, not UTC. */
export const sqlLocalDatetime = (instant: DateTime, zone: string): string =>
  instant.setZone(zone).toFormat('yyyy-MM-dd HH:mm:ss');

export type Db = Knex | Knex.Transaction;

/** The id of a row just inserted, on both engines (knex gives [id] for both). */
export async function insertId(db: Db, table: string, row: Record<string, unknown>): Promise<number> {
  const [id] = await db(table).insert(row);
  return toNum(id);
}
