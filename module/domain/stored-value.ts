import { ModuleError } from './errors.js';

/**
 * The one refusal of a stored value: "T.c holds V, which is not <what>", as UNEXPECTED_STATE with the
 * column named (the row was changed by hand, or by another version), so the row is found from the
 * message alone. `secret`: the value is neither repeated in the message nor kept in the details.
 */
export function storedValueError(
  column: string,
  value: unknown,
  what: string,
  opts: { secret?: boolean } = {},
): ModuleError {
  if (opts.secret)
    return new ModuleError('UNEXPECTED_STATE', `${column} holds a value, which is not ${what}`, { column });
  return new ModuleError('UNEXPECTED_STATE', `${column} holds ${shown(value)}, which is not ${what}`, {
    column,
    value: String(value),
  });
}

/** The column a refusal of a stored value names (storedValueError); null for any other error. */
export function storedColumnOf(err: unknown): string | null {
  if (!(err instanceof ModuleError) || err.code !== 'UNEXPECTED_STATE') return null;
  const column = err.details?.column;
  return typeof column === 'string' ? column : null;
}

/** Text quoted (so "12abc" and 12 differ), numbers and bigints as digits, null as null. */
function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value) ?? String(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
}

/**
 * Reads a value the database gave back as one of a closed set of words. A stored value outside the
 * set means the data was changed by hand or by a newer version: it is reported as UNEXPECTED_STATE
 * (with the table's column named) instead of being cast and carried on.
 */
export function storedWord<const T extends string>(allowed: readonly T[], value: unknown, column: string): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw storedValueError(column, value, `one of ${allowed.join(', ')}`);
}

/** The same for a column that may be NULL. */
export function storedWordOrNull<const T extends string>(
  allowed: readonly T[],
  value: unknown,
  column: string,
): T | null {
  return value === null || value === undefined ? null : storedWord(allowed, value, column);
}
