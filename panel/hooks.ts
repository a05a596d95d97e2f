/**
 * WHMCS's hook dispatcher: `add_hook(name, priority, handler)`, handlers run in ascending priority
 * (registration order breaks ties), each with its own copy of the vars (PHP passes arrays by
 * value). What a hook point does with the answers (merged, any true, HTML concatenated, a menu
 * changed in place, or ignored) is WHMCS's rule kept in module/domain/hook-answers.ts, which the
 * bridge's dispatcher uses too. Menu hooks' handlers receive the menu object itself: PHP passes
 * objects by handle, so they are the one place where a handler's changes reach the caller.
 *
 * A handler that throws does not stop the panel: the error goes to the activity log ("Hook
 * Error: …") and the structured log, and the handler counts as having given no answer; the
 * remaining handlers still run. Every dispatch, with or without handlers, is kept in an in-memory
 * trace (hook name, a summary of the vars, each handler's answer, the combined result) so tests
 * and the admin pages can see the order hooks fired in.
 */
import type { Logger } from '../module/adapters/logger.js';
import {
  combineAnswers,
  HOOK_STYLE,
  hookStyle,
  isEmptyAnswer,
  type HookStyle,
} from '../module/domain/hook-answers.js';

export type HookVars = Record<string, unknown>;
export type HookHandler = (vars: any) => unknown;

export type { HookStyle };
export { HOOK_STYLE };

export interface HookRegistration {
  name: string;
  priority: number;
  handler: HookHandler;
  /** who registered it: an addon module's name, or 'includes/hooks' */
  source: string;
  seq: number;
}

export type HandlerOutcome =
  | { source: string; priority: number; outcome: 'answered'; answer: unknown }
  | { source: string; priority: number; outcome: 'no_answer' }
  | { source: string; priority: number; outcome: 'error'; error: string };

export interface HookRunResult {
  hook: string;
  style: HookStyle;
  /** non-empty answers in run order */
  answers: unknown[];
  /** merge style: the merged key/values (control keys included) */
  merged: Record<string, unknown>;
  /** merge style: a control key was answered true */
  aborted: boolean;
  /** any_true style */
  anyTrue: boolean;
  /** html style */
  html: string;
  handlers: HandlerOutcome[];
}

export interface HookTraceEntry {
  seq: number;
  hook: string;
  vars: Record<string, unknown>;
  handlers: HandlerOutcome[];
  result: unknown;
}

export interface HookManager {
  /** add_hook(name, priority, handler); returns a function that removes it */
  add(name: string, priority: number, handler: HookHandler, source?: string): () => void;
  /** removes every hook a source registered (an addon being deactivated) */
  removeSource(source: string): number;
  registered(name?: string): ReadonlyArray<Omit<HookRegistration, 'handler'>>;
  run(name: string, vars?: HookVars): Promise<HookRunResult>;
  trace(): readonly HookTraceEntry[];
  /** hook names in the order they fired since the last clear, optionally only those given */
  fired(only?: readonly string[]): string[];
  clearTrace(): void;
}

export interface HookManagerDeps {
  log: Logger;
  /** writes the activity log entry for a failing handler */
  logActivity: (description: string) => Promise<void>;
  /** trace entries kept (oldest dropped first) */
  traceLimit?: number;
}

const SUMMARY_KEYS = [
  'invoiceid',
  'serviceid',
  'userid',
  'clientid',
  'relid',
  'messagename',
  'type',
  'status',
  'source',
  'user',
  'task',
  'completed',
  'paymentmethod',
];

/** The scalars of the vars, and of `params` (module hooks), for the trace. */
export function summarizeVars(vars: HookVars): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(vars)) {
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) out[k] = v;
  }
  const params = vars.params;
  if (params && typeof params === 'object') {
    const p = params as Record<string, unknown>;
    out.params = Object.fromEntries(SUMMARY_KEYS.filter((k) => k in p).map((k) => [k, p[k]]));
  }
  return out;
}

export function createHookManager(deps: HookManagerDeps): HookManager {
  const hooks: HookRegistration[] = [];
  const traceLog: HookTraceEntry[] = [];
  const limit = deps.traceLimit ?? 20_000;
  let seq = 0;
  let traceSeq = 0;

  const ordered = (name: string) =>
    hooks.filter((h) => h.name === name).sort((a, b) => a.priority - b.priority || a.seq - b.seq);

  return {
    add(name, priority, handler, source = 'includes/hooks') {
      if (!Number.isFinite(priority)) throw new TypeError(`hook ${name}: priority must be a number`);
      const reg: HookRegistration = { name, priority, handler, source, seq: ++seq };
      hooks.push(reg);
      return () => {
        const i = hooks.indexOf(reg);
        if (i >= 0) hooks.splice(i, 1);
      };
    },

    removeSource(source) {
      let n = 0;
      for (let i = hooks.length - 1; i >= 0; i--) {
        if (hooks[i]!.source === source) {
          hooks.splice(i, 1);
          n++;
        }
      }
      return n;
    },

    registered(name) {
      return hooks
        .filter((h) => name === undefined || h.name === name)
        .sort((a, b) => a.name.localeCompare(b.name) || a.priority - b.priority || a.seq - b.seq)
        .map(({ handler: _h, ...rest }) => rest);
    },

    async run(name, vars = {}) {
      const style = hookStyle(name);
      const result: HookRunResult = {
        hook: name,
        style,
        answers: [],
        merged: {},
        aborted: false,
        anyTrue: false,
        html: '',
        handlers: [],
      };
      const entry: HookTraceEntry = {
        seq: ++traceSeq,
        hook: name,
        vars: summarizeVars(vars),
        handlers: result.handlers,
        result: undefined,
      };
      traceLog.push(entry);
      if (traceLog.length > limit) traceLog.splice(0, traceLog.length - limit);

      for (const h of ordered(name)) {
        let answer: unknown;
        try {
          answer = await h.handler(style === 'menu' ? vars : structuredClone(vars));
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          result.handlers.push({ source: h.source, priority: h.priority, outcome: 'error', error: message });
          deps.log.warn('panel.hook_error', { hook: name, source: h.source, priority: h.priority, message });
          try {
            await deps.logActivity(
              `Hook Error: ${name} (${h.source}, priority ${h.priority}): ${message}`.slice(0, 1000),
            );
          } catch (logErr) {
            deps.log.error('panel.hook_error_not_logged', { hook: name, message: (logErr as Error).message });
          }
          continue;
        }
        if (isEmptyAnswer(answer)) {
          result.handlers.push({ source: h.source, priority: h.priority, outcome: 'no_answer' });
          continue;
        }
        result.handlers.push({ source: h.source, priority: h.priority, outcome: 'answered', answer });
        result.answers.push(answer);
      }
      Object.assign(result, combineAnswers(style, result.answers));
      entry.result =
        style === 'merge'
          ? result.merged
          : style === 'any_true'
            ? result.anyTrue
            : style === 'html'
              ? result.html
              : undefined;
      return result;
    },

    trace: () => traceLog,
    fired: (only) => traceLog.filter((e) => !only || only.includes(e.hook)).map((e) => e.hook),
    clearTrace: () => {
      traceLog.length = 0;
    },
  };
}
