import type { OverusageModule } from '../../module/index.js';
import type { Panel } from '../../panel/index.js';

/**
 * Registers the module with a test's panel, as a provider installs it. The module answers the
 * panel's InvoiceCreation once the invoice holds its lines and records them placed just after;
 * here the panel's InvoiceCreation (however it comes: a renewal run, CreateInvoice, a test) also
 * waits for that record, so a test's next step reads it as a person, seconds later, would. What
 * is seen in between is tested on its own (line-rules.test.ts, "answers the panel …").
 */
export function registerModule(panel: Panel, mod: Pick<OverusageModule, 'addon' | 'lines'>): void {
  panel.addons.register(mod.addon);
  const run = panel.hooks.run.bind(panel.hooks);
  panel.hooks.run = async (name, vars) => {
    const result = await run(name, vars);
    if (name === 'InvoiceCreation') await mod.lines?.idle();
    return result;
  };
}
