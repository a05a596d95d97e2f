const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Text put into HTML (an element's content or a quoted attribute). The one escaper for the add-on's
 * emails and pages built outside a template, and for the reference panel's merge fields; the
 * templates (EJS, Smarty in the bridge) escape with their own.
 */
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
