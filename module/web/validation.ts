import { z } from 'zod';
import { invalidInput } from '../domain/errors.js';

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
  if (proto !== null && proto !== Object.prototype && proto !== Array.prototype) throw invalidInput(`${where}: the value is not plain data`);
}

/** A query or a form as one text value per field; lists, groups and object keys refused. */
export function flatFields(v: unknown, where: 'query' | 'form'): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw invalidInput(`the ${where} must be fields with values`);
  refuseObjectKeys(v, where);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (/[[\]]/.test(k)) throw invalidInput(`${where} field "${k}" takes one value, not a list or a group`);
    if (typeof x === 'string') out[k] = x;
    else if (typeof x === 'number' || typeof x === 'boolean') out[k] = String(x);
    else if (x !== undefined && x !== null) throw invalidInput(`${where} field "${k}" takes one value, not a list or a group`);
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
