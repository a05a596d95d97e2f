import type { PhpArray } from '../domain/php-params.js';
import type { Actor, PanelCore, When } from '../core/context.js';
import { CommandError, MSG } from '../core/errors.js';
import { Params } from './params.js';
import * as clients from './client-commands.js';
import * as invoices from './invoice-commands.js';
import * as system from './system-commands.js';
import * as products from './product-commands.js';
import * as credit from './credit-commands.js';
import * as setup from './setup-commands.js';
import * as orders from './order-commands.js';
import * as promotions from './promotion-commands.js';

export interface CommandContext {
  core: PanelCore;
  actor: Actor;
  when: When;
}

/** A command: its typed reads of the params, and the command's fields of the success envelope. */
export type CommandFn = (p: Params, ctx: CommandContext) => Promise<Record<string, unknown>>;

export type Envelope = { result: 'success'; [key: string]: unknown } | { result: 'error'; message: string };

export interface CommandRegistry {
  /** the command names as WHMCS spells them */
  names(): string[];
  /** WHMCS matches `action` case-insensitively */
  resolve(action: string): string | undefined;
  /** runs a command; every refusal and failure becomes the error envelope, never an exception */
  execute(action: string, params: PhpArray, actor: Actor, when?: When): Promise<Envelope>;
}

const COMMANDS: Record<string, CommandFn> = {
  GetInvoice: invoices.GetInvoice,
  GetInvoices: invoices.GetInvoices,
  CreateInvoice: invoices.CreateInvoice,
  UpdateInvoice: invoices.UpdateInvoice,
  AddInvoicePayment: invoices.AddInvoicePayment,
  GenInvoices: invoices.GenInvoices,
  GetClientsDetails: clients.GetClientsDetails,
  GetClientsProducts: clients.GetClientsProducts,
  ValidateLogin: clients.ValidateLogin,
  UpdateClientProduct: clients.UpdateClientProduct,
  ModuleSuspend: clients.ModuleSuspend,
  ModuleUnsuspend: clients.ModuleUnsuspend,
  SendEmail: system.SendEmail,
  SendAdminEmail: system.SendAdminEmail,
  LogActivity: system.LogActivity,
  GetConfigurationValue: system.GetConfigurationValue,
  SetConfigurationValue: system.SetConfigurationValue,
  GetActivityLog: system.GetActivityLog,
  GetAdminUsers: system.GetAdminUsers,
  GetEmails: system.GetEmails,
  GetProducts: products.GetProducts,
  UpgradeProduct: products.UpgradeProduct,
  AddCredit: credit.AddCredit,
  GetCredits: credit.GetCredits,
  ApplyCredit: credit.ApplyCredit,
  GetTransactions: credit.GetTransactions,
  AddClient: setup.AddClient,
  AddProduct: setup.AddProduct,
  AddOrder: orders.AddOrder,
  AcceptOrder: orders.AcceptOrder,
  GetPromotions: promotions.GetPromotions,
};

/**
 * Commands WHMCS runs only through localAPI(): over HTTP it answers "API Command Restricted to
 * Internal API" (developers.whmcs.com/api-reference/setconfigurationvalue: "via the local API
 * only"; a public Node client's test expects that message over HTTP). A scenario that needs a
 * setting changes it as an admin would, not through the External API.
 */
const LOCAL_API_ONLY = new Set(['SetConfigurationValue']);

export function createCommandRegistry(core: PanelCore): CommandRegistry {
  const byLower = new Map(Object.keys(COMMANDS).map((n) => [n.toLowerCase(), n]));
  return {
    names: () => Object.keys(COMMANDS),
    resolve: (action) => byLower.get(action.trim().toLowerCase()),
    async execute(action, tree, actor, when) {
      const name = byLower.get(action.trim().toLowerCase());
      if (!name) return { result: 'error', message: MSG.commandNotFound };
      if (actor.source === 'api' && LOCAL_API_ONLY.has(name))
        return { result: 'error', message: MSG.localApiOnly };
      try {
        const fields = await COMMANDS[name]!(new Params(tree), { core, actor, when: when ?? core.when() });
        return { result: 'success', ...fields };
      } catch (err) {
        if (err instanceof CommandError) return { result: 'error', message: err.message };
        core.log.error('panel.command_failed', {
          command: name,
          message: (err as Error)?.message,
          stack: (err as Error)?.stack?.split('\n').slice(0, 6).join(' | '),
        });
        return { result: 'error', message: MSG.internal };
      }
    },
  };
}
