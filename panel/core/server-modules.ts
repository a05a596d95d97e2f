/**
 * Provisioning ("server") modules, keyed by tblproducts.servertype, the way WHMCS calls
 * <module>_SuspendAccount($params): the answer is 'success' or an error message. The SolusVM
 * simulator can be plugged in here later; without one, a product's module just succeeds and the
 * panel flips the service's status, which is all the dunning rules need.
 */
export type ModuleParams = Record<string, unknown>;

export interface ServerModule {
  suspend?(params: ModuleParams): Promise<string> | string;
  unsuspend?(params: ModuleParams): Promise<string> | string;
  terminate?(params: ModuleParams): Promise<string> | string;
}

export interface ServerModuleRegistry {
  register(servertype: string, module: ServerModule): void;
  get(servertype: string): ServerModule;
  has(servertype: string): boolean;
}

export const DEFAULT_SERVER_MODULE: ServerModule = {
  suspend: () => 'success',
  unsuspend: () => 'success',
  terminate: () => 'success',
};

export function createServerModuleRegistry(initial: Record<string, ServerModule> = {}): ServerModuleRegistry {
  const modules = new Map<string, ServerModule>(
    Object.entries(initial).map(([k, v]) => [k.toLowerCase(), v]),
  );
  return {
    register: (servertype, module) => void modules.set(servertype.toLowerCase(), module),
    get: (servertype) => modules.get(servertype.toLowerCase()) ?? DEFAULT_SERVER_MODULE,
    has: (servertype) => modules.has(servertype.toLowerCase()),
  };
}
