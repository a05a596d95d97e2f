import { isUnreadable, type UnreadableRow } from '../../module/adapters/rows.js';

/**
 * The rows of an admin list, none of which may be unreadable (UnreadableRow) where every row is as
 * the module wrote it: one that is fails the test, naming it and its column.
 */
export function readable<R extends object>(rows: R[]): Array<Exclude<R, UnreadableRow>> {
  for (const r of rows)
    if (isUnreadable(r as never)) {
      const u = r as unknown as UnreadableRow;
      throw new Error(`row ${u.id} cannot be read: ${u.unreadable.column} ${u.unreadable.reason}`);
    }
  return rows as Array<Exclude<R, UnreadableRow>>;
}

/** The same for a page of a list: its rows, every one readable, and its cursor. */
export const readablePage = <R extends object>(p: { rows: R[]; next: string | null }) => ({
  rows: readable(p.rows),
  next: p.next,
});
