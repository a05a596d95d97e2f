import { escapeHtml } from '../../module/domain/html.js';
/**
 * Email templates use Smarty merge fields, `{$client_name}`. The panel renders the plain `{$name}`
 * form (and `{$name.key}` for one level of nesting); modifiers and control blocks are not
 * supported and are left out of the output. In HTML bodies values are HTML-escaped unless the
 * field is listed as raw (fields the panel itself builds as HTML, e.g. invoice_html_contents) —
 * safer than Smarty's default of no escaping, so a client name can never inject markup.
 */
export type MergeValue = string | number | null | undefined | { [key: string]: MergeValue };

const FIELD = /\{\$([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z0-9_]+))?(?:\|[^}]*)?\}/g;
const BLOCK = /\{\/?(?:if|foreach|else|elseif)[^}]*\}/g;

export function renderMergeFields(
  template: string,
  fields: Record<string, MergeValue>,
  opts: { html: boolean; raw?: ReadonlySet<string> } = { html: false },
): string {
  return template
    .replace(FIELD, (_m, name: string, sub: string | undefined) => {
      let v: MergeValue = fields[name];
      if (sub !== undefined) v = v && typeof v === 'object' ? v[sub] : undefined;
      if (v === null || v === undefined || typeof v === 'object') return '';
      const s = String(v);
      return opts.html && !opts.raw?.has(name) ? escapeHtml(s) : s;
    })
    .replace(BLOCK, '');
}
