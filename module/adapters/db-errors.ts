import type { Logger } from './logger.js';

/**
 * Database failures said in words an operator can act on. knex puts the whole statement (with its
 * bindings: a 500-row INSERT is ~190 KB) in front of the driver's message; the cause goes first
 * here, the message is cut to a readable length, and the statement goes to the debug log only.
 */
export const MAX_MESSAGE = 300;

// a database that is not there, or went away under a statement (mysql2, Node, knex's pool)
const GONE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
]);
// a database that is there but busy for a moment (SQLite's file lock)
const BUSY_CODES = new Set([
  'SQLITE_BUSY',
  'SQLITE_BUSY_SNAPSHOT',
  'SQLITE_BUSY_RECOVERY',
  'SQLITE_LOCKED',
  'SQLITE_PROTOCOL',
]);

const SQL_LEAD =
  /^\s*\(?\s*(select|insert|update|delete|replace|with|create|alter|drop|pragma|begin|commit|rollback|savepoint|release|set|show|truncate)\b/i;

interface DbErr {
  code?: string;
  errno?: number;
  sqlMessage?: string;
  name?: string;
  message?: string;
  cause?: unknown;
}

/** The database is unreachable or dropped the connection: worth trying again after a pause. */
export function isConnectionLoss(err: unknown): boolean {
  const e = err as DbErr | null;
  if (!e || typeof e !== 'object') return false;
  if (e.code && (GONE_CODES.has(e.code) || BUSY_CODES.has(e.code))) return true;
  if (e.errno === 2006 || e.errno === 2013 || e.errno === 1053) return true;
  if (e.name === 'KnexTimeoutError') return true;
  return /connection is in closed state|Connection lost|server has gone away|Lost connection to/i.test(
    e.message ?? '',
  );
}

/** The driver's own message, without the statement knex put in front of it. */
export function causeOf(err: unknown): { cause: string; statement: string | null; code: string | null } {
  const e = (err ?? {}) as DbErr;
  const message = String(e.message ?? err);
  const code = typeof e.code === 'string' ? e.code : null;
  if (!SQL_LEAD.test(message)) return { cause: message, statement: null, code };
  if (e.sqlMessage) {
    const at = message.lastIndexOf(` - ${e.sqlMessage}`);
    return { cause: e.sqlMessage, statement: at > 0 ? message.slice(0, at) : null, code };
  }
  const at = message.lastIndexOf(' - ');
  if (at < 0) return { cause: message, statement: null, code };
  return { cause: message.slice(at + 3), statement: message.slice(0, at), code };
}

const cut = (s: string, max = MAX_MESSAGE) => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

/** What went wrong, cause first, at most MAX_MESSAGE characters. */
export function describeError(err: unknown): string {
  const { cause, code } = causeOf(err);
  const e = err as DbErr;
  let text = cause.split('\n')[0]!.trim();
  if (e?.name === 'KnexTimeoutError')
    text = 'no database connection could be had in time (the database is down or every connection is busy)';
  else if (code && GONE_CODES.has(code)) text = `the database is unreachable (${text})`;
  else if (code === 'SQLITE_READONLY' || /readonly database/i.test(text))
    text = `the database refuses writes: ${text}`;
  else if (code && BUSY_CODES.has(code)) text = `the database is locked by another process: ${text}`;
  if (code && !text.includes(code)) text += ` (${code})`;
  return cut(text);
}

/** describeError, and the statement (if any) to the debug log. */
export function reportError(
  err: unknown,
  log: Logger,
  event: string,
  fields: Record<string, unknown> = {},
): string {
  const message = describeError(err);
  const { statement } = causeOf(err);
  if (statement) log.log('debug', event, { ...fields, statement: cut(statement, 20_000) });
  return message;
}

export interface ReconnectPolicy {
  /** pauses between attempts while the database is away; the work fails after the last */
  delaysMs: readonly number[];
}

/** About 16 s in all: a restart of the database server is ridden out, an outage is reported. */
export const DEFAULT_RECONNECT: ReconnectPolicy = { delaysMs: [250, 500, 1000, 2000, 4000, 8000] };

/** Thrown when the database stayed away through every pause. */
export class DatabaseGoneError extends Error {
  readonly code = 'DATABASE_GONE';
  /** what became of the work, said by the part that knows (e.g. the run's record) */
  note: string | null = null;
  constructor(
    readonly last: unknown,
    readonly attempts: number,
    readonly waitedMs: number,
  ) {
    super(
      `${describeError(last)}; still so after ${attempts} attempts over ${(waitedMs / 1000).toFixed(1)} s`,
    );
    this.name = 'DatabaseGoneError';
  }
}

/**
 * Shared by the parts of one job: once one of them has waited through every pause in vain, the
 * others try once and give up at once, instead of each waiting the whole back-off again (a run
 * would otherwise take minutes to say the database is gone). A success clears it.
 */
export interface ReconnectState {
  gone: DatabaseGoneError | null;
}

/**
 * Runs `work`, trying again with back-off while the database is away; other errors pass at once.
 * The policy's pauses are also its deadline: an attempt that itself waits (SQLite's busy timeout
 * on a file another process holds) counts, so nested waits cannot add up to minutes of silence.
 */
export async function withReconnect<T>(
  work: () => Promise<T>,
  policy: ReconnectPolicy = DEFAULT_RECONNECT,
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void,
  state?: ReconnectState,
  nowMs: () => number = Date.now,
): Promise<T> {
  const budget = policy.delaysMs.reduce((a, b) => a + b, 0);
  let firstFailure: number | null = null;
  for (let attempt = 1; ; attempt++) {
    try {
      const out = await work();
      if (state) state.gone = null;
      return out;
    } catch (err) {
      if (!isConnectionLoss(err) || err instanceof DatabaseGoneError) throw err;
      if (state?.gone) throw state.gone;
      firstFailure ??= nowMs();
      const delay = policy.delaysMs[attempt - 1];
      const spent = nowMs() - firstFailure;
      if (delay === undefined || spent + delay > budget) {
        const gone = new DatabaseGoneError(err, attempt, spent);
        if (state) state.gone = gone;
        throw gone;
      }
      onRetry?.(err, attempt, delay);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** The same object, with the named async methods retried through withReconnect. */
export function reconnecting<T extends object>(
  target: T,
  methods: ReadonlyArray<keyof T>,
  policy: ReconnectPolicy,
  onRetry?: (method: string, err: unknown, attempt: number, delayMs: number) => void,
  state?: ReconnectState,
): T {
  const out = Object.create(null) as T;
  for (const key of Object.keys(target) as Array<keyof T>) out[key] = target[key];
  for (const m of methods) {
    const fn = target[m] as unknown as (...args: unknown[]) => Promise<unknown>;
    if (typeof fn !== 'function') continue;
    (out as Record<keyof T, unknown>)[m] = (...args: unknown[]) =>
      withReconnect(
        () => fn.apply(target, args),
        policy,
        (err, a, d) => onRetry?.(String(m), err, a, d),
        state,
      );
  }
  return out;
}
