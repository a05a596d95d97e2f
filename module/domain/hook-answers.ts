/**
 * WHMCS's rules for what a hook point does with its handlers' answers (docs/whmcs.md, "Hook answers"), in
 * one place: the reference panel's dispatcher (panel/hooks.ts) and the bridge's (module/web/
 * bridge-hooks.ts, whose PHP side hands the result to WHMCS) both combine answers here.
 *
 *  - ignored: most points ("No response supported");
 *  - merge: key/value answers merged; on the same key the later handler (higher priority number)
 *    wins, as PHP's array_merge over the answers in run order would; a control key (`abortcmd`,
 *    `abortsend`, `abortCancel`, `abortLogging`) once answered true stays true, so one add-on's
 *    guard is not undone by another's vars; `attachments` are concatenated;
 *  - any_true (DailyCronJobPreEmail): any handler answering `true` counts;
 *  - html: strings concatenated in run order;
 *  - menu: handlers change the menu object they are given; answers are ignored.
 */
export type HookStyle = 'ignored' | 'merge' | 'any_true' | 'html' | 'menu';

/** How each hook point treats answers; a point not listed is 'ignored'. */
export const HOOK_STYLE: Readonly<Record<string, HookStyle>> = {
  PreModuleSuspend: 'merge',
  PreModuleUnsuspend: 'merge',
  PreModuleTerminate: 'merge',
  EmailPreSend: 'merge',
  EmailPreLog: 'merge',
  PreInvoiceAutomaticCancellation: 'merge',
  ClientAreaPageViewInvoice: 'merge',
  ClientAreaPageProductDetails: 'merge',
  AdminAreaPage: 'merge',
  AdminClientServicesTabFields: 'merge',
  DailyCronJobPreEmail: 'any_true',
  ClientAreaHomepage: 'html',
  ClientAreaProductDetailsOutput: 'html',
  AdminAreaClientSummaryPage: 'html',
  AdminInvoicesControlsOutput: 'html',
  ClientAreaHomepagePanels: 'menu',
  ClientAreaPrimarySidebar: 'menu',
  ClientAreaSecondarySidebar: 'menu',
};

export const hookStyle = (name: string): HookStyle => HOOK_STYLE[name] ?? 'ignored';

export const CONTROL_KEYS: ReadonlySet<string> = new Set([
  'abortcmd',
  'abortsend',
  'abortCancel',
  'abortLogging',
]);

/** PHP's idea of a true value in a hook's answer. */
export const truthy = (v: unknown): boolean =>
  v === true || v === 1 || v === '1' || v === 'true' || v === 'on';

/** No answer: what a PHP handler returning nothing, false, '' or an empty array gives. */
export function isEmptyAnswer(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v as object).length === 0;
  return false;
}

export interface CombinedAnswers {
  /** merge: the merged key/values, control keys included; {} for other styles */
  merged: Record<string, unknown>;
  /** merge: a control key was answered true */
  aborted: boolean;
  /** any_true: some handler answered true */
  anyTrue: boolean;
  /** html: the strings, in run order */
  html: string;
}

/** Combines the non-empty answers, given in run order, the way the hook point does. */
export function combineAnswers(style: HookStyle, answers: readonly unknown[]): CombinedAnswers {
  const out: CombinedAnswers = { merged: {}, aborted: false, anyTrue: false, html: '' };
  for (const answer of answers) {
    if (isEmptyAnswer(answer)) continue;
    if (style === 'any_true' && answer === true) out.anyTrue = true;
    if (style === 'html' && typeof answer === 'string') out.html += answer;
    if (style !== 'merge' || typeof answer !== 'object' || answer === null || Array.isArray(answer)) continue;
    for (const [k, v] of Object.entries(answer as Record<string, unknown>)) {
      if (CONTROL_KEYS.has(k)) {
        if (truthy(v)) {
          out.merged[k] = true;
          out.aborted = true;
        } else if (!(k in out.merged)) out.merged[k] = false;
      } else if (k === 'attachments' && Array.isArray(v)) {
        out.merged.attachments = [...((out.merged.attachments as unknown[] | undefined) ?? []), ...v];
      } else {
        out.merged[k] = v;
      }
    }
  }
  return out;
}
