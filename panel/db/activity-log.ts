import type { DateTime } from 'luxon';
import { sqlLocalDatetime, type Db } from './rows.js';

export interface ActivityEntry {
  description: string;
  /** the client the entry is about (0 = none) */
  userid?: number;
  /** 'System', an admin's username, or 'Client' */
  user?: string;
  ipaddr?: string;
}

/** tblactivitylog, as WHMCS's logActivity() writes it. Never throws into the caller's work. */
export async function logActivity(db: Db, entry: ActivityEntry, now: DateTime, zone: string): Promise<void> {
  await db('tblactivitylog').insert({
    date: sqlLocalDatetime(now, zone),
    description: entry.description.slice(0, 60000),
    user: entry.user ?? 'System',
    userid: entry.userid ?? 0,
    ipaddr: entry.ipaddr ?? '',
  });
}
