import fs from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { format as mysqlFormat, type SqlValue } from 'mysql2';
import { ModuleError } from '../domain/errors.js';

export type Engine = 'sqlite' | 'mysql';

export interface Database {
  knex: Knex;
  engine: Engine;
  /** the URL with any password replaced, safe to log */
  safeUrl: string;
  close(): Promise<void>;
}

/**
 * mysql2's formatting, for a statement with values only: one without is sent as it is. mysql2
 * otherwise scans all of it for placeholders it has nothing to put in (3.5 s for the rating's
 * inserts at 1 000 000 periods).
 */
function formatWithValues(
  this: { config: { stringifyObjects?: boolean } },
  sql: string,
  values: unknown,
  tz: string,
): string {
  if (values === undefined || values === null || (Array.isArray(values) && values.length === 0)) return sql;
  return mysqlFormat(sql, values as SqlValue[], this.config.stringifyObjects ?? false, tz);
}

/**
 * One setting chooses the storage: a database URL.
 *   sqlite:data/overusage.sqlite     (relative to the working directory)
 *   sqlite:/var/lib/overusage.sqlite
 *   sqlite::memory:
 *   mysql://user:password@127.0.0.1:3306/whmcs       (mariadb:// works too)
 *   mysql://root@localhost/whmcs?socketPath=/run/mysqld/mysqld.sock
 */
export function parseDatabaseUrl(url: string): { engine: Engine; config: Knex.Config; safeUrl: string } {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!file)
      throw new ModuleError('CONFIG', 'the sqlite URL names no file (e.g. sqlite:data/overusage.sqlite)');
    return {
      engine: 'sqlite',
      safeUrl: url,
      config: {
        client: 'better-sqlite3',
        connection: { filename: file },
        useNullAsDefault: true,
        pool: {
          min: 1,
          max: 1,
          afterCreate(conn: any, done: (err: Error | null, conn: unknown) => void) {
            try {
              // Integers come back as bigint so counters above 2^53 stay exact; the row parsers
              // turn ids back into numbers.
              conn.defaultSafeIntegers(true);
              conn.pragma('journal_mode = WAL');
              conn.pragma('synchronous = NORMAL');
              conn.pragma('foreign_keys = ON');
              conn.pragma('busy_timeout = 10000');
              done(null, conn);
            } catch (err) {
              done(err as Error, conn);
            }
          },
        },
      },
    };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ModuleError(
      'CONFIG',
      `"${redact(url)}" is not a database URL (use sqlite:FILE or mysql://user:password@host:port/database)`,
    );
  }
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') {
    throw new ModuleError('CONFIG', `unsupported database "${parsed.protocol}" (use sqlite: or mysql://)`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  const socketPath = parsed.searchParams.get('socketPath') ?? undefined;
  const connection: Record<string, unknown> = {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 3306,
    user: decodeURIComponent(parsed.username || 'root'),
    password: decodeURIComponent(parsed.password || ''),
    database: database || undefined,
    // Exactness and time-zone safety: DECIMAL/BIGINT as strings, DATE/DATETIME as the stored text,
    // and the session in UTC so DATETIME values are UTC instants.
    dateStrings: true,
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: true,
    charset: 'utf8mb4',
    queryFormat: formatWithValues,
  };
  if (socketPath) connection.socketPath = socketPath;
  return {
    engine: 'mysql',
    safeUrl: redact(url),
    config: {
      client: 'mysql2',
      connection,
      pool: {
        min: 0,
        max: Number(parsed.searchParams.get('pool') ?? 10),
        afterCreate(conn: any, done: (err: Error | null, conn: unknown) => void) {
          // READ COMMITTED: batch updates by primary key must not lock the rows a scan merely
          // passes over (under REPEATABLE READ two metering batches deadlocked on a small table).
          conn.query("SET time_zone = '+00:00'", (err: Error | null) => {
            if (err) return done(err, conn);
            conn.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', (err2: Error | null) =>
              done(err2, conn),
            );
          });
        },
      },
    },
  };
}

export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
}

/**
 * knex's own warnings: a failed connection is also thrown to the caller, who says it in one line;
 * knex would print it a second time with a stack. Anything else is one line on stderr.
 */
const toStderr = (message: unknown) => process.stderr.write(`knex: ${String(message).split('\n')[0]}\n`);
// knex prints what has no handler here with console.log, on stdout: every kind goes to stderr,
// so a command's --json output stays the only thing on stdout
const knexLog = {
  warn(message: unknown) {
    // said by the caller in one line of its own; knex's advice names its own CLI, not ours
    if (
      !/^(Acquire connection error|Can't take lock to run migrations|If you are sure migrations are not running)/.test(
        String(message),
      )
    )
      toStderr(message);
  },
  error: toStderr,
  deprecate: toStderr,
  debug: toStderr,
};

export function openDatabase(url: string): Database {
  const { engine, config, safeUrl } = parseDatabaseUrl(url);
  if (engine === 'sqlite') {
    const file = (config.connection as { filename: string }).filename;
    if (file !== ':memory:') {
      fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
      // created private, like the secret key: it holds clients' usage and sealed credentials
      // (SQLite gives its -wal and -shm files the database file's mode)
      fs.closeSync(fs.openSync(file, 'a', 0o600));
    }
  }
  const knex = knexFactory({ ...config, log: knexLog });
  return { knex, engine, safeUrl, close: () => knex.destroy() };
}

export const engineOf = (knex: Knex): Engine => (knex.client.config.client === 'mysql2' ? 'mysql' : 'sqlite');
