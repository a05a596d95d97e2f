/**
 * One error class for exceptional failures, with a code from a closed set. Expected business
 * outcomes are returned as values instead (see `Outcome`). Each code maps to an HTTP status in one
 * place (the web error handler) and to an exit code in the CLI.
 */
export type ErrorCode =
  | 'INVALID_INPUT'
  | 'NOT_FOUND'
  | 'NOT_ALLOWED'
  | 'UNAUTHORIZED'
  | 'CONFLICT'
  | 'LOCKED'
  | 'UNEXPECTED_STATE'
  | 'UPSTREAM'
  | 'CONFIG';

export const HTTP_STATUS: Record<ErrorCode, number> = {
  INVALID_INPUT: 422,
  NOT_FOUND: 404,
  NOT_ALLOWED: 403,
  UNAUTHORIZED: 401,
  CONFLICT: 409,
  LOCKED: 423,
  UNEXPECTED_STATE: 409,
  UPSTREAM: 502,
  CONFIG: 500,
};

export class ModuleError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'ModuleError';
    this.code = code;
    this.details = details;
  }
}

export const invalidInput = (message: string, details?: Record<string, unknown>): ModuleError =>
  new ModuleError('INVALID_INPUT', message, details);

export const notFound = (message: string, details?: Record<string, unknown>): ModuleError =>
  new ModuleError('NOT_FOUND', message, details);

/** An expected outcome: success with a value, or a coded refusal the caller must handle. */
export type Outcome<T, C extends string = string> =
  { ok: true; value: T } | { ok: false; code: C; message: string; details?: Record<string, unknown> };
