import { createLogger, type Logger } from '../../module/adapters/logger.js';

/** A logger whose JSON lines are parsed into `lines`, for tests that check what was logged. */
export function logInto(lines: Array<Record<string, unknown>>): Logger {
  return createLogger({ write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
}
