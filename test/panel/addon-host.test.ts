import { expect } from 'chai';
import type { AddonModule, AddonResult, AdminOutputVars, ClientAreaVars } from '../../panel/addon-host.js';
import { normalizeFieldValue, optionValues } from '../../panel/addon-host.js';
import { describeEachEngine } from '../support/engines.js';
import { buildPanel, type PanelFixture } from './support.js';

/** A tiny addon in WHMCS's shape, recording what the host did with it. */
function fakeAddon(version = '1.0.0', opts: { failActivate?: boolean } = {}) {
  const calls: string[] = [];
  const mod: AddonModule & { calls: string[] } = {
    name: 'tinyaddon',
    calls,
    config: () => ({
      name: 'Tiny Addon',
      description: 'A test addon',
      version,
      author: 'Tests',
      language: 'english',
      fields: {
        apiUrl: { FriendlyName: 'API URL', Type: 'text', Size: 40, Default: 'https://example.net' },
        apiKey: { FriendlyName: 'API key', Type: 'password', Size: 40 },
        enabled: { FriendlyName: 'Enabled', Type: 'yesno', Default: 'on' },
        notes: { FriendlyName: 'Notes', Type: 'textarea', Rows: 3, Cols: 40 },
        unit: {
          FriendlyName: 'Unit',
          Type: 'dropdown',
          Options: { GB: 'Gigabytes', GiB: 'Gibibytes' },
          Default: 'GB',
        },
        policy: { FriendlyName: 'Policy', Type: 'radio', Options: 'bill,throttle,suspend', Default: 'bill' },
      },
    }),
    activate(): AddonResult {
      calls.push('activate');
      return opts.failActivate
        ? { status: 'error', description: 'cannot create tables' }
        : { status: 'success', description: 'Tiny Addon activated' };
    },
    deactivate() {
      calls.push('deactivate');
      return { status: 'success', description: 'bye' };
    },
    upgrade(vars) {
      calls.push(`upgrade from ${vars.version}`);
    },
    output(vars: AdminOutputVars) {
      return `<h1>${vars._lang.title}</h1><p>${vars.modulelink}&a=x · v${vars.version} · ${vars.unit} · admin ${vars.adminid} · ${vars.request.query.a}</p>`;
    },
    sidebar: (vars) => `<p>${vars._lang.title}</p>`,
    clientarea(vars: ClientAreaVars) {
      return {
        pagetitle: 'Usage',
        breadcrumb: { [vars.modulelink]: 'Usage' },
        templatefile: 'usage',
        requirelogin: true,
        vars: { client: vars.clientid, policy: vars.policy },
      };
    },
    hooks: () => [
      { name: 'InvoiceCreation', priority: 5, handler: () => void calls.push('hook InvoiceCreation') },
      { name: 'DailyCronJob', priority: 1, handler: () => void calls.push('hook DailyCronJob') },
    ],
    lang: { english: { title: 'Tiny usage' }, dutch: { title: 'Klein verbruik' } },
  };
  return mod;
}

describe('addon field values', () => {
  it('stores yesno as "on" or "", and keeps dropdown/radio values to their options', () => {
    const yesno = { FriendlyName: 'Enabled', Type: 'yesno' } as const;
    expect(normalizeFieldValue(yesno, true)).to.deep.equal({ ok: true, value: 'on' });
    expect(normalizeFieldValue(yesno, '')).to.deep.equal({ ok: true, value: '' });
    const dd = { FriendlyName: 'Unit', Type: 'dropdown', Options: 'GB,GiB' } as const;
    expect(optionValues(dd)).to.deep.equal(['GB', 'GiB']);
    expect(normalizeFieldValue(dd, 'TB')).to.deep.equal({
      ok: false,
      message: 'Unit must be one of: GB, GiB',
    });
  });
});

describeEachEngine('addon host', ({ db }) => {
  let f: PanelFixture;

  beforeEach(async () => {
    f = await buildPanel(db().knex, { start: '2025-01-20T09:30:00Z' });
  });

  const request = (query: Record<string, unknown> = {}) => ({ method: 'GET', query, body: {} });
  const settingsRows = async () =>
    Object.fromEntries(
      (await f.knex('tbladdonmodules').where({ module: 'tinyaddon' })).map((r) => [r.setting, r.value]),
    );

  it('activates a module: stores its field defaults, version and access in tbladdonmodules, and registers its hooks', async () => {
    const mod = fakeAddon();
    f.panel.addons.register(mod);
    expect(await f.panel.addons.isActive('tinyaddon')).to.equal(false);
    expect(f.panel.hooks.registered()).to.deep.equal([]);
    expect(await f.panel.addons.activate('tinyaddon')).to.deep.equal({
      status: 'success',
      description: 'Tiny Addon activated',
    });
    expect(await settingsRows()).to.deep.equal({
      apiUrl: 'https://example.net',
      apiKey: '',
      enabled: 'on',
      notes: '',
      unit: 'GB',
      policy: 'bill',
      access: '1',
      version: '1.0.0',
    });
    expect(f.panel.hooks.registered().map((h) => [h.name, h.priority, h.source])).to.deep.equal([
      ['DailyCronJob', 1, 'tinyaddon'],
      ['InvoiceCreation', 5, 'tinyaddon'],
    ]);
    await f.panel.runDailyAutomation();
    expect(mod.calls).to.deep.equal(['activate', 'hook DailyCronJob']);
    expect(await f.panel.addons.canAccess('tinyaddon', 1)).to.equal(true);
    expect(await f.panel.addons.canAccess('tinyaddon', 2)).to.equal(false);
  });

  it('keeps a module inactive when activate() answers an error', async () => {
    f.panel.addons.register(fakeAddon('1.0.0', { failActivate: true }));
    expect(await f.panel.addons.activate('tinyaddon')).to.deep.equal({
      status: 'error',
      description: 'cannot create tables',
    });
    expect(await settingsRows()).to.deep.equal({});
    expect(f.panel.hooks.registered()).to.deep.equal([]);
  });

  it('validates and saves settings; an unticked yesno is saved as ""', async () => {
    f.panel.addons.register(fakeAddon());
    await f.panel.addons.activate('tinyaddon');
    expect(await f.panel.addons.saveSettings('tinyaddon', { unit: 'TB', bogus: 'x' })).to.deep.equal({
      ok: false,
      errors: { unit: 'Unit must be one of: GB, GiB', bogus: 'bogus is not a setting of this module' },
    });
    expect(
      await f.panel.addons.saveSettings('tinyaddon', { unit: 'GiB', apiKey: 's3cret', policy: 'throttle' }),
    ).to.deep.equal({ ok: true });
    expect(await settingsRows()).to.include({
      unit: 'GiB',
      apiKey: 's3cret',
      policy: 'throttle',
      enabled: '',
    });
  });

  it('renders the admin tab and sidebar with the config values, modulelink, version, _lang and the request', async () => {
    f.panel.addons.register(fakeAddon());
    await f.panel.addons.activate('tinyaddon');
    expect(
      await f.panel.addons.output('tinyaddon', {
        request: request({ a: 'disputes' }),
        adminId: 3,
        language: 'dutch',
      }),
    ).to.equal(
      '<h1>Klein verbruik</h1><p>addonmodules.php?module=tinyaddon&a=x · v1.0.0 · GB · admin 3 · disputes</p>',
    );
    expect(await f.panel.addons.sidebar('tinyaddon', { request: request(), adminId: 3 })).to.equal(
      '<p>Tiny usage</p>',
    );
  });

  it('answers the client area page, asking for a login when the page requires one', async () => {
    f.panel.addons.register(fakeAddon());
    await f.panel.addons.activate('tinyaddon');
    expect(
      await f.panel.addons.clientarea('tinyaddon', { request: request(), clientId: null }),
    ).to.deep.equal({ requireLogin: true });
    expect(await f.panel.addons.clientarea('tinyaddon', { request: request(), clientId: 7 })).to.deep.equal({
      pagetitle: 'Usage',
      breadcrumb: { 'index.php?m=tinyaddon': 'Usage' },
      templatefile: 'usage',
      requirelogin: true,
      vars: { client: 7, policy: 'bill' },
    });
  });

  it('upgrades once, with the previous version, the first time the module is used after its version changed', async () => {
    const v1 = fakeAddon('1.0.0');
    f.panel.addons.register(v1);
    await f.panel.addons.activate('tinyaddon');
    // a new panel process with version 1.1.0 of the module
    const { createPanel } = await import('../../panel/index.js');
    const next = createPanel({ knex: f.knex, clock: f.clock, zone: f.panel.zone });
    const v2 = fakeAddon('1.1.0');
    next.addons.register(v2);
    await next.addons.boot();
    await next.addons.output('tinyaddon', { request: request(), adminId: 1 });
    expect(v2.calls).to.deep.equal(['upgrade from 1.0.0']);
    expect((await settingsRows()).version).to.equal('1.1.0');
    expect(next.hooks.registered().map((h) => h.name)).to.deep.equal(['DailyCronJob', 'InvoiceCreation']);
  });

  it('deactivates: removes its settings and hooks, and its pages are no longer served', async () => {
    const mod = fakeAddon();
    f.panel.addons.register(mod);
    await f.panel.addons.activate('tinyaddon');
    expect(await f.panel.addons.deactivate('tinyaddon')).to.deep.equal({
      status: 'success',
      description: 'bye',
    });
    expect(await settingsRows()).to.deep.equal({});
    expect(f.panel.hooks.registered()).to.deep.equal([]);
    let error: unknown;
    try {
      await f.panel.addons.output('tinyaddon', { request: request(), adminId: 1 });
    } catch (err) {
      error = err;
    }
    expect((error as Error).message).to.equal('the addon module "tinyaddon" is not active');
  });

  it('refuses names WHMCS would refuse', () => {
    expect(() => f.panel.addons.register({ ...fakeAddon(), name: 'Tiny-Addon' })).to.throw(
      /not a valid addon module name/,
    );
  });
});
