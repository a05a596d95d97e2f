import { ModuleError } from './errors.js';

/**
 * Reads a value the database gave back as one of a closed set of words. A stored value outside the
 * set means the data was changed by hand or by a newer version: it is reported as UNEXPECTED_STATE
 * (with the table's column named) instead of being cast and carried on.
 */
export function storedWord<const T extends string>(allowed: readonly T[], value: unknown, column: string): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new ModuleError(
    'UNEXPECTED_STATE',
    `${column} holds ${JSON.stringify(value)}, which is not one of ${allowed.join(', ')}`,
    { column, value: String(value) },
  );
}

/** The same for a column that may be NULL. */
export function storedWordOrNull<const T extends string>(
  allowed: readonly T[],
  value: unknown,
  column: string,
): T | null {
  return value === null || value === undefined ? null : storedWord(allowed, value, column);
}
