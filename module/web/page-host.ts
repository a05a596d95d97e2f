/**
 * What a page's host says about itself when it embeds the module's pages. Inside WHMCS (the
 * bridge): the stylesheet and script are files in the addon's folder, reached relative to WHMCS's
 * page; download links come back to WHMCS's page, which fetches the file through the bridge (the
 * service's port is not the browser's business, and no token goes into a URL); forms carry WHMCS's
 * own CSRF field. Elsewhere (the reference panel, the module's embed pages) the module serves its
 * own files and its downloads are API links.
 */
export interface PageAssets {
  /** a relative path (from the page) to the folder with overusage.css and overusage.js */
  base: string;
  /** the files' version, for caches */
  version: string;
}

export interface FormToken {
  name: string;
  value: string;
}

export interface PageHost {
  assets: PageAssets | null;
  downloads: 'host' | 'api';
  csrf: FormToken | null;
}

/** The stylesheets and the script a page links to. */
export interface PageUi {
  styles: string[];
  script: string;
}

export const OWN_HOST: PageHost = { assets: null, downloads: 'api', csrf: null };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A relative path within the host's site: `../` only in front, then plain names; no scheme, host, leading slash or `//`. */
const RELATIVE_PATH = /^(\.\.\/)*[A-Za-z0-9_-]+(\/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$/;

/** The host's word on itself, as a bridge sent it; anything malformed counts as not said. */
export function pageHostOf(v: { assets?: unknown; downloads?: unknown; csrf?: unknown }): PageHost {
  const a = v.assets;
  const assets =
    isObject(a) &&
    typeof a.base === 'string' &&
    RELATIVE_PATH.test(a.base) &&
    typeof a.version === 'string' &&
    /^[0-9A-Za-z.+-]{1,40}$/.test(a.version)
      ? { base: a.base, version: a.version }
      : null;
  const c = v.csrf;
  const csrf =
    isObject(c) &&
    typeof c.name === 'string' &&
    /^[A-Za-z_][A-Za-z0-9_]{0,30}$/.test(c.name) &&
    typeof c.value === 'string' &&
    /^[A-Za-z0-9_-]{8,128}$/.test(c.value)
      ? { name: c.name, value: c.value }
      : null;
  return { assets, downloads: v.downloads === 'host' ? 'host' : 'api', csrf };
}

/** The host's files when it serves them; otherwise the module's own, with the page stylesheet for a host without Bootstrap. */
export function uiFor(assets: PageAssets | null, ownAssets: string): PageUi {
  if (assets) {
    const v = `?v=${encodeURIComponent(assets.version)}`;
    return { styles: [`${assets.base}/overusage.css${v}`], script: `${assets.base}/overusage.js${v}` };
  }
  return {
    styles: [`${ownAssets}/overusage.css`, `${ownAssets}/overusage-page.css`],
    script: `${ownAssets}/overusage.js`,
  };
}
