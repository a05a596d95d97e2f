import { errorKind, loggedError } from './adapters/rows.js';
import fs from 'node:fs';
import path from 'node:path';
import type { HookDefinition } from '../hooks/hook-types.js';
import type { Logger } from './adapters/logger.js';
import type { SettingsService } from './services/settings.js';

/**
 * The module as a WHMCS addon sees it (docs/whmcs.md, "Addon module contract"): config() with typed fields,
 * activate/deactivate/upgrade returning {status, description}, output() for the admin tab,
 * clientarea() for the client page, and the hooks of hooks.php. Any panel that hosts addons this
 * way (the reference panel, or WHMCS through the bridge) can load it.
 */
export const MODULE_NAME = 'overusage';
/** package.json's version: the one number the WHMCS addon shares (modules/addons/overusage/lib/Version.php) */
export const MODULE_VERSION: string = (
  JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '..', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;

export interface AddonVarsIn {
  [field: string]: unknown;
  modulelink?: string;
  request?: { method: string; query: Record<string, unknown>; body: Record<string, unknown> };
  adminid?: number | null;
  clientid?: number | null;
  language?: string;
  /** a host's word on itself (module/web/page-host.ts): where it serves the assets, that it streams downloads, its form token */
  assets?: unknown;
  downloads?: unknown;
  csrf?: unknown;
}

export interface AddonDefinitionDeps {
  migrate(): Promise<string[]>;
  migrateDown(): Promise<string[]>;
  settings: SettingsService;
  hooks: () => HookDefinition[];
  adminOutput: (vars: AddonVarsIn) => Promise<string>;
  clientArea: (vars: AddonVarsIn) => Promise<{
    pagetitle: string;
    breadcrumb: Record<string, string>;
    templatefile: string;
    requirelogin: boolean;
    vars: Record<string, unknown>;
  }>;
  download: (vars: AddonVarsIn) => Promise<{ filename: string; contentType: string; body: string }>;
  log: Logger;
}

export function createAddonDefinition(deps: AddonDefinitionDeps) {
  return {
    name: MODULE_NAME,
    /** where the client area's templates live (the host renders `<templatefile>.ejs` from here) */
    templatesDir: path.resolve(import.meta.dirname, '..', 'views', 'client'),
    config() {
      return {
        name: 'Overusage',
        description:
          'Bills SolusVM bandwidth overusage on renewal invoices, with a reclamation window and per-line disputes.',
        version: MODULE_VERSION,
        author: 'Overusage',
        language: 'english',
        // Everything else is set in the module's own tab; the data is kept on deactivation unless
        // the setting drop_data_on_deactivate is on.
        fields: {},
      };
    },
    async activate() {
      try {
        const applied = await deps.migrate();
        return {
          status: 'success' as const,
          description: applied.length
            ? `Overusage is active; ${applied.length} database ${applied.length === 1 ? 'change' : 'changes'} applied.`
            : 'Overusage is active.',
        };
      } catch (err) {
        deps.log.error('addon.activate_failed', { ...loggedError(err) });
        return {
          status: 'error' as const,
          description: `Overusage could not create its tables: ${errorKind(err)}`,
        };
      }
    },
    async deactivate() {
      // Data stays unless the admin asked for it to go; dataDeleted tells a host (the WHMCS bridge) to drop its own tables too.
      const drop = (await deps.settings.get('drop_data_on_deactivate').catch(() => '')) === 'on';
      if (!drop)
        return {
          status: 'success' as const,
          description: 'Overusage is deactivated; its data is kept and will be used again on activation.',
          dataDeleted: false,
        };
      await deps.migrateDown();
      return {
        status: 'success' as const,
        description: 'Overusage is deactivated and its data deleted.',
        dataDeleted: true,
      };
    },
    async upgrade(_vars: { version: string }) {
      await deps.migrate();
    },
    output: (vars: AddonVarsIn) => deps.adminOutput(vars),
    clientarea: (vars: AddonVarsIn) => deps.clientArea(vars),
    /** a file of the admin tab or the client page, for a host that streams it (the WHMCS bridge) */
    download: (vars: AddonVarsIn) => deps.download(vars),
    hooks: () => deps.hooks(),
  };
}

export type AddonDefinition = ReturnType<typeof createAddonDefinition>;
