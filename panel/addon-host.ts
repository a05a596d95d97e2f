/**
 * How the panel hosts an addon module, the WHMCS way (docs/whmcs.md, "Addon module contract"): the module declares
 * config() with typed fields (persisted in tbladdonmodules with its `version` and `access` rows),
 * is activated/deactivated by an admin, is upgraded the first time it is used after its version
 * changes, renders the admin tab (output) and a client area page (clientarea), and registers its
 * hooks (WHMCS's hooks.php) only while it is active.
 *
 * Differences from PHP that a TypeScript host forces: output() returns its HTML instead of echoing
 * it, and the request is passed in the vars (`request`) instead of being read from $_GET/$_POST.
 */
import type { Knex } from 'knex';
import type { Logger } from '../module/adapters/logger.js';
import { textCell } from './db/rows.js';
import type { HookHandler, HookManager } from './hooks.js';

type MaybePromise<T> = T | Promise<T>;

export type AddonFieldType = 'text' | 'password' | 'yesno' | 'textarea' | 'dropdown' | 'radio';

export interface AddonField {
  FriendlyName: string;
  Type: AddonFieldType;
  Description?: string;
  Default?: string;
  Size?: number | string;
  Rows?: number | string;
  Cols?: number | string;
  /** dropdown/radio: "a,b,c" or { value: label } */
  Options?: string | Record<string, string>;
}

export interface AddonConfig {
  name: string;
  description: string;
  version: string;
  author: string;
  /** the default language file when the admin's is missing */
  language?: string;
  fields?: Record<string, AddonField>;
}

export interface AddonResult {
  status: 'success' | 'error' | 'info';
  description: string;
}

export interface AddonRequest {
  method: string;
  query: Record<string, unknown>;
  body: Record<string, unknown>;
}

/** $vars: every config field by key, plus modulelink, version and _lang (and here the request). */
export interface AddonVars {
  [field: string]: unknown;
  modulelink: string;
  version: string;
  _lang: Record<string, string>;
  request: AddonRequest;
}

export interface AdminOutputVars extends AddonVars {
  /** $_SESSION['adminid'] */
  adminid: number | null;
}

export interface ClientAreaVars extends AddonVars {
  /** the logged-in client, null for a visitor */
  clientid: number | null;
  language: string;
}

export interface ClientAreaResult {
  pagetitle: string;
  /** url → label */
  breadcrumb: Record<string, string>;
  /** the view to render, without extension */
  templatefile: string;
  requirelogin?: boolean;
  forcessl?: boolean;
  vars?: Record<string, unknown>;
}

export interface AddonHookDefinition {
  name: string;
  priority: number;
  handler: HookHandler;
}

/** An addon module as the panel sees it (structural: any object of this shape is one). */
export interface AddonModule {
  /** the system name: lowercase letters, digits and _, starting with a letter */
  readonly name: string;
  config(): AddonConfig;
  activate?(): MaybePromise<AddonResult | void>;
  deactivate?(): MaybePromise<AddonResult | void>;
  /** called once after the version in config() changed; `version` is the previous one */
  upgrade?(vars: { version: string }): MaybePromise<void>;
  /** the admin tab's HTML */
  output?(vars: AdminOutputVars): MaybePromise<string>;
  /** the admin sidebar's HTML */
  sidebar?(vars: AdminOutputVars): MaybePromise<string>;
  clientarea?(vars: ClientAreaVars): MaybePromise<ClientAreaResult>;
  /** the module's hooks.php: registered on activation and at every boot while active */
  hooks?(): readonly AddonHookDefinition[];
  /** $_ADDONLANG per language name ('english', 'dutch') */
  lang?: Readonly<Record<string, Record<string, string>>>;
  /** absolute path of the module's ejs views: the client area renders `<templatesDir>/<templatefile>.ejs` (WHMCS's .tpl in the module folder) */
  readonly templatesDir?: string;
}

export interface AddonInfo {
  name: string;
  config: AddonConfig;
  active: boolean;
  installedVersion: string | null;
  templatesDir: string | null;
  /** which pages the module renders */
  has: { output: boolean; sidebar: boolean; clientarea: boolean };
}

export type SaveOutcome = { ok: true } | { ok: false; errors: Record<string, string> };

export interface AddonHost {
  register(module: AddonModule): void;
  list(): Promise<AddonInfo[]>;
  /** one installed module, or null */
  info(name: string): Promise<AddonInfo | null>;
  isActive(name: string): Promise<boolean>;
  activate(name: string): Promise<AddonResult>;
  deactivate(name: string): Promise<AddonResult>;
  /** stored settings (field values, version, access) */
  settings(name: string): Promise<Record<string, string>>;
  saveSettings(name: string, values: Record<string, unknown>): Promise<SaveOutcome>;
  /** registers the hooks of every active module and runs pending upgrades (at panel start) */
  boot(): Promise<void>;
  /** whether an admin role may open the module (tbladdonmodules 'access') */
  canAccess(name: string, roleId: number): Promise<boolean>;
  output(
    name: string,
    ctx: { request: AddonRequest; adminId: number | null; language?: string },
  ): Promise<string>;
  sidebar(
    name: string,
    ctx: { request: AddonRequest; adminId: number | null; language?: string },
  ): Promise<string>;
  clientarea(
    name: string,
    ctx: { request: AddonRequest; clientId: number | null; language?: string },
  ): Promise<ClientAreaResult | { requireLogin: true }>;
}

export const ADDON_NAME = /^[a-z][a-z0-9_]*$/;

/** The values a dropdown/radio field accepts. */
export function optionValues(field: AddonField): string[] {
  if (field.Options === undefined) return [];
  if (typeof field.Options === 'string')
    return field.Options.split(',')
      .map((o) => o.trim())
      .filter((o) => o !== '');
  return Object.keys(field.Options);
}

/** The stored form of a field value (yesno: 'on' or ''), or an error message. */
export function normalizeFieldValue(
  field: AddonField,
  value: unknown,
): { ok: true; value: string } | { ok: false; message: string } {
  if (field.Type === 'yesno') {
    const on =
      value === true ||
      value === 1 ||
      (typeof value === 'string' && ['on', '1', 'yes', 'true'].includes(value.toLowerCase()));
    return { ok: true, value: on ? 'on' : '' };
  }
  if (value !== undefined && value !== null && typeof value !== 'string' && typeof value !== 'number')
    return { ok: false, message: `${field.FriendlyName} must be text` };
  const text = value === undefined || value === null ? '' : String(value);
  if (
    (field.Type === 'dropdown' || field.Type === 'radio') &&
    text !== '' &&
    !optionValues(field).includes(text)
  ) {
    return { ok: false, message: `${field.FriendlyName} must be one of: ${optionValues(field).join(', ')}` };
  }
  if (text.length > 65535) return { ok: false, message: `${field.FriendlyName} is too long` };
  return { ok: true, value: text };
}

export function createAddonHost(deps: { knex: Knex; hooks: HookManager; log: Logger }): AddonHost {
  const modules = new Map<string, AddonModule>();
  const db = deps.knex;

  const get = (name: string): AddonModule => {
    const m = modules.get(name);
    if (!m) throw new Error(`no addon module named "${name}" is installed`);
    return m;
  };

  async function stored(name: string): Promise<Record<string, string>> {
    const rows = await db('tbladdonmodules').where({ module: name }).select('setting', 'value');
    return Object.fromEntries(rows.map((r) => [textCell(r.setting), textCell(r.value)]));
  }

  async function put(name: string, setting: string, value: string): Promise<void> {
    await db('tbladdonmodules')
      .insert({ module: name, setting, value })
      .onConflict(['module', 'setting'])
      .merge({ value });
  }

  function registerHooks(m: AddonModule): void {
    deps.hooks.removeSource(m.name);
    for (const h of m.hooks?.() ?? []) deps.hooks.add(h.name, h.priority, h.handler, m.name);
  }

  async function ensureUpgraded(m: AddonModule): Promise<void> {
    const s = await stored(m.name);
    const current = m.config().version;
    if (s.version === undefined || s.version === current) return;
    await m.upgrade?.({ version: s.version });
    await put(m.name, 'version', current);
    deps.log.info('panel.addon_upgraded', { module: m.name, from: s.version, to: current });
  }

  async function vars(
    m: AddonModule,
    request: AddonRequest,
    link: string,
    language: string | undefined,
  ): Promise<AddonVars> {
    if ((await stored(m.name)).version === undefined)
      throw new Error(`the addon module "${m.name}" is not active`);
    await ensureUpgraded(m);
    const cfg = m.config();
    const s = await stored(m.name);
    const fieldValues = Object.fromEntries(
      Object.entries(cfg.fields ?? {}).map(([k, f]) => [k, s[k] ?? f.Default ?? '']),
    );
    const lang =
      (language && m.lang?.[language]) || m.lang?.[cfg.language ?? 'english'] || m.lang?.english || {};
    return { ...fieldValues, modulelink: link, version: cfg.version, _lang: { ...lang }, request };
  }

  async function infoOf(m: AddonModule): Promise<AddonInfo> {
    const s = await stored(m.name);
    return {
      name: m.name,
      config: m.config(),
      active: s.version !== undefined,
      installedVersion: s.version ?? null,
      templatesDir: m.templatesDir ?? null,
      has: {
        output: typeof m.output === 'function',
        sidebar: typeof m.sidebar === 'function',
        clientarea: typeof m.clientarea === 'function',
      },
    };
  }

  const asResult = (r: AddonResult | void, fallback: string): AddonResult =>
    r ?? { status: 'success', description: fallback };

  return {
    register(m) {
      if (!ADDON_NAME.test(m.name))
        throw new Error(
          `"${m.name}" is not a valid addon module name (lowercase letters, digits and _, starting with a letter)`,
        );
      if (modules.has(m.name)) throw new Error(`an addon module named "${m.name}" is already installed`);
      modules.set(m.name, m);
    },

    async list() {
      const out: AddonInfo[] = [];
      for (const m of modules.values()) out.push(await infoOf(m));
      return out;
    },

    async info(name) {
      const m = modules.get(name);
      return m ? infoOf(m) : null;
    },

    isActive: async (name) => (await stored(name)).version !== undefined,

    async activate(name) {
      const m = get(name);
      if ((await stored(name)).version !== undefined)
        return { status: 'info', description: `${m.config().name} is already active` };
      let result: AddonResult;
      try {
        result = asResult(await m.activate?.(), `${m.config().name} has been activated`);
      } catch (err) {
        result = { status: 'error', description: (err as Error).message };
      }
      if (result.status === 'error') return result;
      const cfg = m.config();
      for (const [key, field] of Object.entries(cfg.fields ?? {})) {
        const v = normalizeFieldValue(field, field.Default ?? '');
        await put(name, key, v.ok ? v.value : '');
      }
      await put(name, 'access', '1');
      await put(name, 'version', cfg.version);
      registerHooks(m);
      deps.log.info('panel.addon_activated', { module: name, version: cfg.version });
      return result;
    },

    async deactivate(name) {
      const m = get(name);
      if ((await stored(name)).version === undefined)
        return { status: 'info', description: `${m.config().name} is not active` };
      let result: AddonResult;
      try {
        result = asResult(await m.deactivate?.(), `${m.config().name} has been deactivated`);
      } catch (err) {
        result = { status: 'error', description: (err as Error).message };
      }
      if (result.status === 'error') return result;
      // WHMCS removes the module's settings rows on deactivation
      await db('tbladdonmodules').where({ module: name }).delete();
      deps.hooks.removeSource(name);
      deps.log.info('panel.addon_deactivated', { module: name });
      return result;
    },

    settings: (name) => stored(name),

    async saveSettings(name, values) {
      const m = get(name);
      const fields = m.config().fields ?? {};
      const errors: Record<string, string> = {};
      const clean: Record<string, string> = {};
      for (const [key, field] of Object.entries(fields)) {
        // an unticked yesno box is simply absent from a form post
        if (!(key in values) && field.Type !== 'yesno') continue;
        const v = normalizeFieldValue(field, values[key]);
        if (v.ok) clean[key] = v.value;
        else errors[key] = v.message;
      }
      for (const key of Object.keys(values))
        if (!(key in fields)) errors[key] = `${key} is not a setting of this module`;
      if (Object.keys(errors).length > 0) return { ok: false, errors };
      await db.transaction(async (trx) => {
        for (const [k, v] of Object.entries(clean))
          await trx('tbladdonmodules')
            .insert({ module: name, setting: k, value: v })
            .onConflict(['module', 'setting'])
            .merge({ value: v });
      });
      return { ok: true };
    },

    async boot() {
      for (const m of modules.values()) {
        if ((await stored(m.name)).version === undefined) continue;
        await ensureUpgraded(m);
        registerHooks(m);
      }
    },

    async canAccess(name, roleId) {
      const access = (await stored(name)).access ?? '';
      return access
        .split(',')
        .map((x) => x.trim())
        .includes(String(roleId));
    },

    async output(name, ctx) {
      const m = get(name);
      if (!m.output) return '';
      const v = await vars(m, ctx.request, `addonmodules.php?module=${name}`, ctx.language);
      return m.output({ ...v, adminid: ctx.adminId });
    },

    async sidebar(name, ctx) {
      const m = get(name);
      if (!m.sidebar) return '';
      const v = await vars(m, ctx.request, `addonmodules.php?module=${name}`, ctx.language);
      return m.sidebar({ ...v, adminid: ctx.adminId });
    },

    async clientarea(name, ctx) {
      const m = get(name);
      if (!m.clientarea) throw new Error(`${name} has no client area page`);
      const v = await vars(m, ctx.request, `index.php?m=${name}`, ctx.language);
      const result = await m.clientarea({ ...v, clientid: ctx.clientId, language: ctx.language ?? '' });
      if (result.requirelogin && ctx.clientId === null) return { requireLogin: true };
      return result;
    },
  };
}
