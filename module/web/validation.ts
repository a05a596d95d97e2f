import { z } from 'zod';
import { invalidInput, ModuleError, notFound } from '../domain/errors.js';
import { idCursor, pageLimit } from '../services/usage-reads.js';

/**
 * The one validation layer for what a request brings (the JSON API's query and body, the admin
 * tab's query and forms, whatever host parsed them): zod schemas, and a refusal with a code and a
 * message (INVALID_INPUT, 422) for anything else, never a crash.
 *
 *  - a query or a form is flat: one text value per field; a list (`a[]=`, `a=1&a=2`) or a group
 *    (`a[x]=`) where one value is expected is refused;
 *  - no field anywhere, at any depth, is named like a property every object has (`__proto__`,
 *    `constructor`, `toString` …): such a name could reach Object.prototype or shadow its methods;
 *  - numbers are digits (dates: admin-reads.ts, a real calendar day up to tomorrow).
 */
const OBJECT_KEYS = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

export const isForbiddenKey = (k: string): boolean => OBJECT_KEYS.has(k);

/** Refuses a prototype-like key anywhere in a parsed value. */
export function refuseObjectKeys(v: unknown, where: string, depth = 0): void {
  if (depth > 20 || v === null || typeof v !== 'object') return;
  for (const k of Object.keys(v)) {
    if (isForbiddenKey(k)) throw invalidInput(`${where}: "${k}" is not a field this takes`);
    refuseObjectKeys((v as Record<string, unknown>)[k], where, depth + 1);
  }
  // a literal "__proto__" key in JSON is an own property that Object.keys does see; one set through
  // a parser's prototype is not, so the prototype itself is checked too
  const proto = Object.getPrototypeOf(v);
  if (proto !== null && proto !== Object.prototype && proto !== Array.prototype)
    throw invalidInput(`${where}: the value is not plain data`);
}

/** A query or a form as one text value per field; lists, groups and object keys refused. */
export function flatFields(v: unknown, where: 'query' | 'form'): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v))
    throw invalidInput(`the ${where} must be fields with values`);
  refuseObjectKeys(v, where);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (/[[\]]/.test(k)) throw invalidInput(`${where} field "${k}" takes one value, not a list or a group`);
    if (typeof x === 'string') out[k] = x;
    else if (typeof x === 'number' || typeof x === 'boolean') out[k] = String(x);
    else if (x !== undefined && x !== null)
      throw invalidInput(`${where} field "${k}" takes one value, not a list or a group`);
  }
  return out;
}

const issueText = (e: z.ZodError): string => {
  const i = e.issues[0]!;
  return `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`;
};

/** Parses with a schema; a failure is INVALID_INPUT with the first issue's path and message. */
export function parseWith<T>(schema: z.ZodType<T>, v: unknown, where: string): T {
  const r = schema.safeParse(v);
  if (!r.success) throw invalidInput(`${where}: ${issueText(r.error)}`);
  return r.data;
}

/** Digits only: a version, a count. `''` reads as absent. */
export const wholeNumber = (what: string) =>
  z
    .string()
    .regex(/^\d{1,15}$/, { message: `${what} must be a whole number` })
    .transform(Number);

/*
 * A route's input (module/web/*-router.ts): one zod schema per part, each issue carrying the whole
 * message the answer gives, so the API's refusals read as they always have (docs/openapi.yaml).
 */
const firstIssue = (e: z.ZodError): string => e.issues[0]!.message;

/** A query or a body through its schema; a failure is INVALID_INPUT (422) with the issue's message. */
export function inputOf<T>(schema: z.ZodType<T>, v: unknown): T {
  const r = schema.safeParse(v);
  if (!r.success) throw invalidInput(firstIssue(r.error));
  return r.data;
}

/** A JSON body's fields: a body that is not an object has none (an array, no body at all). */
export const bodyOf = <T>(schema: z.ZodType<T>, body: unknown): T =>
  inputOf(schema, body !== null && typeof body === 'object' && !Array.isArray(body) ? body : {});

/** The ids in a route's path: one that is not an id names nothing there, so NOT_FOUND (404). */
export function pathOf<T>(schema: z.ZodType<T>, params: unknown): T {
  const r = schema.safeParse(params);
  if (!r.success) throw notFound(firstIssue(r.error));
  return r.data;
}

/** A path id: digits, no leading zero, at most 16 of them. */
export const pathId = (what: string) =>
  z
    .string({ error: `no such ${what}` })
    .regex(/^[1-9]\d{0,15}$/, { error: `no such ${what}` })
    .transform(Number);

/** A query field read by one of the services' own rules (a page limit, a cursor): its refusal is the issue. */
export const readBy = <T>(rule: (v: string | undefined) => T) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      try {
        return rule(v);
      } catch (err) {
        if (!(err instanceof ModuleError)) throw err;
        ctx.addIssue({ code: 'custom', message: err.message });
        return z.NEVER;
      }
    });

/** A query field of text; absent reads as ''. */
export const queryText = z
  .string()
  .optional()
  .transform((v) => v ?? '');

/** `limit`: a page's size, by the reads' own rule (default and largest per route). */
export const limitField = (fallback?: number, max?: number) => readBy((v) => pageLimit(v, fallback, max));

/** An id in the query (a filter, a cursor): absent is null. */
export const idField = (what?: string) => readBy((v) => idCursor(v, what));
