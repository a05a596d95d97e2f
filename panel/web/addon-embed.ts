/**
 * How an addon's pages are embedded, the WHMCS way (docs/whmcs.md, "Addon module contract"):
 *
 *  - admin tab (`/admin/addonmodules.php?module=<name>`): the host checks the admin session, the
 *    module's access list (AddonHost.canAccess with the admin's role) and, for a POST, the CSRF
 *    token — only then does it call output(vars) and sidebar(vars). The HTML they return is
 *    embedded as it is in the admin layout (WHMCS echoes it into its template).
 *  - client page (`/index.php?m=<name>`): clientarea(vars) answers {pagetitle, breadcrumb,
 *    templatefile, requirelogin, vars}; the host renders `<templatesDir>/<templatefile>.ejs` (the
 *    module's .tpl) with those vars plus `modulelink`, `token`, `clientid`, `language`, and
 *    embeds the result in the client layout.
 *
 * In both, `vars.request` carries the method, the query and the body as PHP would parse them
 * ($_GET/$_POST), and every `<form method="post">` in the addon's HTML gets the session's CSRF
 * token as a hidden `token` field (WHMCS adds it to forms the same way), so an addon's own forms
 * post back without knowing about tokens.
 */
import path from 'node:path';
import fs from 'node:fs';
import ejs from 'ejs';
import type { Request } from 'express';
import { escapeHtml } from '../../module/domain/html.js';
import { formPairs, parsePhpPairs, type PhpArray } from '../domain/php-params.js';

export interface AddonRequestShape {
  method: string;
  query: Record<string, unknown>;
  body: Record<string, unknown>;
}

const MAX_QUERY_PAIRS = 1000;

/** $_GET as PHP builds it from the request's query string. */
export function phpQuery(req: Request): PhpArray {
  const raw = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
  return parsePhpPairs(formPairs(raw).slice(0, MAX_QUERY_PAIRS));
}

export function addonRequest(req: Request, body: Record<string, unknown>): AddonRequestShape {
  return { method: req.method, query: { ...phpQuery(req) }, body: { ...body } };
}

/** Adds the hidden CSRF field to each POST form of an addon's HTML. */
export function injectFormToken(html: string, token: string): string {
  const field = `<input type="hidden" name="token" value="${escapeHtml(token)}">`;
  return html.replace(/<form\b[^>]*>/gi, (tag) =>
    /\bmethod\s*=\s*["']?post\b/i.test(tag) ? `${tag}${field}` : tag,
  );
}

export class AddonTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AddonTemplateError';
  }
}

/** `<templatesDir>/<templatefile>.ejs`; the name may have sub-folders but never leaves the folder. */
export function addonTemplatePath(templatesDir: string, templatefile: string): string {
  if (!path.isAbsolute(templatesDir))
    throw new AddonTemplateError(`templatesDir must be an absolute path, not "${templatesDir}"`);
  if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(templatefile))
    throw new AddonTemplateError(
      `"${templatefile}" is not a template name (letters, digits, _ and -, sub-folders with /)`,
    );
  const root = path.resolve(templatesDir);
  const file = path.resolve(root, `${templatefile}.ejs`);
  if (!file.startsWith(root + path.sep))
    throw new AddonTemplateError(`"${templatefile}" is outside the module's templates`);
  if (!fs.existsSync(file)) throw new AddonTemplateError(`the module has no template "${templatefile}.ejs"`);
  return file;
}

export async function renderAddonTemplate(
  templatesDir: string,
  templatefile: string,
  data: Record<string, unknown>,
  cache: boolean,
): Promise<string> {
  const file = addonTemplatePath(templatesDir, templatefile);
  return ejs.renderFile(file, data, { cache, root: path.resolve(templatesDir) });
}
