/**
 * Structured log lines (one JSON object per line). Fields whose names look secret are masked here,
 * once, so no caller can leak a key, token or password by logging an object.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: LogLevel, event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_NAME =
  /pass(word)?|secret|token|api_?key|apikey|authorization|cookie|credential|^key$|signature/i;

export function scrub(value: unknown, depth = 0): unknown {
  if (depth > 6) return '[deep]';
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = SECRET_NAME.test(k) ? '[redacted]' : scrub(v, depth + 1);
    return out;
  }
  return value;
}

export function createLogger(
  opts: {
    level?: LogLevel;
    write?: (line: string) => void;
    base?: Record<string, unknown>;
    now?: () => string;
  } = {},
): Logger {
  const min = ORDER[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const now = opts.now ?? (() => new Date().toISOString());
  const base = opts.base ?? {};
  const logger: Logger = {
    log(level, event, fields = {}) {
      if (ORDER[level] < min) return;
      write(JSON.stringify({ at: now(), level, event, ...(scrub({ ...base, ...fields }) as object) }));
    },
    info: (e, f) => logger.log('info', e, f),
    warn: (e, f) => logger.log('warn', e, f),
    error: (e, f) => logger.log('error', e, f),
    child: (fields) => createLogger({ ...opts, base: { ...base, ...fields } }),
  };
  return logger;
}

export const silentLogger: Logger = createLogger({ write: () => {} });
