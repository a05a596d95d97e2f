/**
 * The in-process adapter of the module's PanelApi, like WHMCS's localAPI(): no credentials and no
 * IP check, the same commands and the same answers as the External API. Parameters are flattened
 * the way http_build_query would send them and parsed back the way PHP would, and the answer goes
 * through JSON, so a caller sees exactly what it would see over HTTP.
 */
import {
  createPanelApi,
  interpretEnvelope,
  toFormPairs,
  type PanelApi,
  type PanelParams,
  type PanelResult,
} from '../module/adapters/panel-api.js';
import { parsePanelJson } from '../module/adapters/whmcs-http-api.js';
import { parsePhpPairs } from './domain/php-params.js';
import type { CommandRegistry } from './api/registry.js';
import { SYSTEM, type Actor } from './core/context.js';

export function createLocalApi(commands: CommandRegistry, actor: Actor = SYSTEM): PanelApi {
  const call = async (command: string, params: PanelParams = {}): Promise<PanelResult> => {
    const tree = parsePhpPairs(toFormPairs(params));
    const envelope = await commands.execute(command, tree, actor);
    return interpretEnvelope(command, parsePanelJson(JSON.stringify(envelope)));
  };
  return createPanelApi(call);
}
