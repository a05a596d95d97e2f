import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import request from 'supertest';
import { createAdmin } from '../../panel/index.js';
import type { AddonModule, AdminOutputVars, ClientAreaVars } from '../../panel/addon-host.js';
import { injectFormToken } from '../../panel/web/addon-embed.js';
import { describeEachEngine } from '../support/engines.js';
import { ZONE } from './support.js';
import { adminLogin, buildWeb, clientLogin, tokenOf, type Agent, type WebFixture } from './web-support.js';

let templatesDir = '';

before(() => {
  templatesDir = fs.mkdtempSync(path.join(os.tmpdir(), 'panel-addon-views-'));
  fs.writeFileSync(
    path.join(templatesDir, 'usage.ejs'),
    `<p id="tpl">client <%= client %> says <%= greeting %> via <%= method %>, posted <%= posted %>, link <%= modulelink %></p>
<form method="post" action="<%= modulelink %>"><input type="hidden" name="token" value="<%= token %>"><input name="x"></form>`,
  );
  fs.mkdirSync(path.join(templatesDir, 'parts'));
  fs.writeFileSync(
    path.join(templatesDir, 'parts', 'plain.ejs'),
    '<p id="plain">plain <%= language %></p><form method="POST" action="index.php?m=fakeaddon"><input name="y"></form>',
  );
  fs.writeFileSync(path.join(os.tmpdir(), 'panel-addon-secret.ejs'), 'SECRET');
});

after(() => fs.rmSync(templatesDir, { recursive: true, force: true }));

/** An addon in WHMCS's shape that records what the host gave it. */
function fakeAddon() {
  const outputs: AdminOutputVars[] = [];
  const clientCalls: ClientAreaVars[] = [];
  const mod: AddonModule = {
    name: 'fakeaddon',
    get templatesDir() {
      return templatesDir;
    },
    config: () => ({
      name: 'Fake Addon',
      description: 'A test addon <with> markup',
      version: '1.2.0',
      author: 'Tests',
      fields: {
        apiUrl: { FriendlyName: 'API URL', Type: 'text', Size: 30, Default: 'https://example.net' },
        apiKey: { FriendlyName: 'API key', Type: 'password' },
        enabled: { FriendlyName: 'Enabled', Type: 'yesno', Default: 'on' },
        notes: { FriendlyName: 'Notes', Type: 'textarea', Rows: 2 },
        unit: {
          FriendlyName: 'Unit',
          Type: 'dropdown',
          Options: { GB: 'Gigabytes', GiB: 'Gibibytes' },
          Default: 'GB',
        },
        policy: { FriendlyName: 'Policy', Type: 'radio', Options: 'bill,throttle,suspend', Default: 'bill' },
      },
    }),
    output(vars) {
      outputs.push(vars);
      if (vars.request.query.a === 'boom') throw new Error('database password is hunter2');
      const body = vars.request.body as Record<string, unknown>;
      return `<h2 id="tab">Fake tab</h2><p id="req">${vars.request.method} a=${String(vars.request.query.a)} note=${String(body.note)} unit=${String(vars.unit)}</p><form method="post" action="${vars.modulelink}&amp;a=save"><input name="note"></form><form method="get" action="addonmodules.php"></form>`;
    },
    sidebar: (vars) => `<p id="side">sidebar of ${vars.modulelink}</p>`,
    clientarea(vars) {
      clientCalls.push(vars);
      const q = vars.request.query as Record<string, string>;
      return {
        pagetitle: 'Usage <page>',
        breadcrumb: { [vars.modulelink]: 'Usage', 'javascript:alert(1)': 'Evil' },
        templatefile: q.tpl ?? 'usage',
        requirelogin: q.public !== '1',
        vars: {
          client: vars.clientid,
          greeting: '<b>hi</b>',
          method: vars.request.method,
          posted: (vars.request.body as Record<string, unknown>).x ?? '-',
          token: 'not-the-token',
        },
      };
    },
  };
  return { mod, outputs, clientCalls };
}

describeEachEngine('panel pages: addon modules', ({ db }) => {
  let w: WebFixture;
  let fake: ReturnType<typeof fakeAddon>;
  let admin: { agent: Agent; token: string };

  beforeEach(async () => {
    w = await buildWeb(db().knex);
    fake = fakeAddon();
    w.panel.addons.register(fake.mod);
    admin = await adminLogin(w.app);
  });

  const activate = async () => {
    const res = await admin.agent
      .post('/admin/configaddonmods.php')
      .type('form')
      .send({ token: admin.token, module: 'fakeaddon', action: 'activate' })
      .expect(303);
    expect(res.headers.location).to.equal('/admin/configaddonmods.php');
  };
  const settings = async () =>
    Object.fromEntries(
      (await w.knex('tbladdonmodules').where({ module: 'fakeaddon' })).map((r) => [r.setting, r.value]),
    );

  it('lists addon modules and activates and deactivates them through the AddonHost', async () => {
    const before = await admin.agent.get('/admin/configaddonmods.php').expect(200);
    expect(before.text)
      .to.include('Fake Addon')
      .and.include('A test addon &lt;with&gt; markup')
      .and.include('value="activate"');
    await activate();
    expect(await w.panel.addons.isActive('fakeaddon')).to.equal(true);
    const after = await admin.agent.get('/admin/configaddonmods.php').expect(200);
    expect(after.text)
      .to.include('Fake Addon has been activated')
      .and.include('value="deactivate"')
      .and.include('addonmodules.php?module=fakeaddon');
    await admin.agent
      .post('/admin/configaddonmods.php')
      .type('form')
      .send({ token: admin.token, module: 'fakeaddon', action: 'deactivate' })
      .expect(303);
    expect(await w.panel.addons.isActive('fakeaddon')).to.equal(false);
    expect(await settings()).to.deep.equal({});
    await admin.agent
      .post('/admin/configaddonmods.php')
      .type('form')
      .send({ module: 'fakeaddon', action: 'activate' })
      .expect(403);
    expect(await w.panel.addons.isActive('fakeaddon')).to.equal(false);
    await admin.agent
      .post('/admin/configaddonmods.php')
      .type('form')
      .send({ token: admin.token, module: 'nosuch', action: 'activate' })
      .expect(404);
  });

  it('edits the config fields by type; a blank password keeps the stored one, an unticked yesno is off', async () => {
    await activate();
    await w
      .knex('tbladdonmodules')
      .where({ module: 'fakeaddon', setting: 'apiKey' })
      .update({ value: 's3cret' });
    const page = await admin.agent.get('/admin/configaddonmods.php').expect(200);
    expect(page.text).to.include('name="fields[apiUrl]" value="https://example.net"');
    expect(page.text).to.include('type="password" name="fields[apiKey]" value=""').and.not.include('s3cret');
    expect(page.text).to.include('type="checkbox" name="fields[enabled]" value="on" checked');
    expect(page.text).to.include('<textarea name="fields[notes]"');
    expect(page.text)
      .to.include('<option value="GB" selected>Gigabytes</option>')
      .and.include('<option value="GiB">Gibibytes</option>');
    expect(page.text).to.include('type="radio" name="fields[policy]" value="bill" checked');
    await admin.agent
      .post('/admin/configaddonmods.php')
      .type('form')
      .send({
        token: admin.token,
        module: 'fakeaddon',
        action: 'save',
        'fields[apiUrl]': 'https://usage.example',
        'fields[apiKey]': '',
        'fields[notes]': 'a <note>',
        'fields[unit]': 'GiB',
        'fields[policy]': 'throttle',
      })
      .expect(303);
    expect(await settings()).to.include({
      apiUrl: 'https://usage.example',
      apiKey: 's3cret',
      enabled: '',
      notes: 'a <note>',
      unit: 'GiB',
      policy: 'throttle',
    });
    const bad = await admin.agent
      .post('/admin/configaddonmods.php')
      .type('form')
      .send({ token: admin.token, module: 'fakeaddon', action: 'save', 'fields[unit]': 'TB' })
      .expect(400);
    expect(bad.text).to.include('Unit must be one of: GB, GiB');
    expect((await settings()).unit).to.equal('GiB');
  });

  it("embeds the addon's output and sidebar in the admin layout, with the request in vars", async () => {
    await activate();
    const res = await admin.agent
      .get('/admin/addonmodules.php?module=fakeaddon&a=list&ids[]=4&ids[]=5')
      .expect(200);
    expect(res.text)
      .to.include('<h2 id="tab">Fake tab</h2>')
      .and.include('<p id="req">GET a=list note=undefined unit=GB</p>');
    expect(res.text).to.include('<p id="side">sidebar of addonmodules.php?module=fakeaddon</p>');
    expect(res.text).to.include('<a href="addonmodules.php?module=fakeaddon" class="on">Fake Addon</a>');
    const vars = fake.outputs.at(-1)!;
    expect(vars.request).to.deep.equal({
      method: 'GET',
      query: { module: 'fakeaddon', a: 'list', ids: { 0: '4', 1: '5' } },
      body: {},
    });
    expect(vars.adminid).to.equal(w.adminId);
    expect(vars.modulelink).to.equal('addonmodules.php?module=fakeaddon');
    expect(vars.version).to.equal('1.2.0');
    // the host adds the session's token to the addon's POST forms, not to its GET ones
    expect(res.text).to.include(
      `<form method="post" action="addonmodules.php?module=fakeaddon&amp;a=save"><input type="hidden" name="token" value="${admin.token}">`,
    );
    expect(res.text).to.include('<form method="get" action="addonmodules.php"></form>');
  });

  it('lets a POST to the module link reach output() only with the CSRF token', async () => {
    await activate();
    const ok = await admin.agent
      .post('/admin/addonmodules.php?module=fakeaddon&a=save')
      .type('form')
      .send({ token: admin.token, note: 'hello' })
      .expect(200);
    expect(ok.text).to.include('<p id="req">POST a=save note=hello unit=GB</p>');
    expect(fake.outputs.at(-1)!.request.body).to.deep.equal({ token: admin.token, note: 'hello' });
    const calls = fake.outputs.length;
    await admin.agent
      .post('/admin/addonmodules.php?module=fakeaddon&a=save')
      .type('form')
      .send({ note: 'forged' })
      .expect(403);
    await admin.agent
      .post('/admin/addonmodules.php?module=fakeaddon&a=save')
      .type('form')
      .send({ note: 'forged', token: 'wrong' })
      .expect(403);
    expect(fake.outputs.length).to.equal(calls);
  });

  it("checks the module's access list against the admin's role, and shows only active modules", async () => {
    await admin.agent.get('/admin/addonmodules.php?module=fakeaddon').expect(404);
    await activate();
    await createAdmin(
      w.knex,
      { username: 'support', password: 'support-password', roleid: 2 },
      w.clock.now(),
      ZONE,
    );
    const support = await adminLogin(w.app, { username: 'support', password: 'support-password' });
    const denied = await support.agent.get('/admin/addonmodules.php?module=fakeaddon').expect(403);
    expect(denied.text).to.include('Access Denied');
    await support.agent
      .post('/admin/addonmodules.php?module=fakeaddon')
      .type('form')
      .send({ token: support.token })
      .expect(403);
    expect(fake.outputs).to.have.length(0);
    const dash = await support.agent.get('/admin/index.php').expect(200);
    expect(dash.text)
      .to.not.include('addonmodules.php?module=fakeaddon')
      .and.not.include('configaddonmods.php');
    await support.agent.get('/admin/configaddonmods.php').expect(403);
    // giving role 2 access in tbladdonmodules opens it
    await w
      .knex('tbladdonmodules')
      .where({ module: 'fakeaddon', setting: 'access' })
      .update({ value: '1,2' });
    await support.agent.get('/admin/addonmodules.php?module=fakeaddon').expect(200);
    await admin.agent.get('/admin/addonmodules.php?module=nosuch').expect(404);
    await admin.agent.get('/admin/addonmodules.php?module=../x').expect(404);
  });

  it('answers a generic 500 when the addon fails, without its message', async () => {
    await activate();
    const res = await admin.agent.get('/admin/addonmodules.php?module=fakeaddon&a=boom').expect(500);
    expect(res.text).to.not.include('hunter2');
  });

  it("renders the client area page from the module's templatesDir inside the client layout", async () => {
    await activate();
    const { agent, token } = await clientLogin(w.app);
    const res = await agent.get('/index.php?m=fakeaddon').expect(200);
    expect(res.text).to.include(
      `<p id="tpl">client ${w.story.clientId} says &lt;b&gt;hi&lt;/b&gt; via GET, posted -, link index.php?m=fakeaddon</p>`,
    );
    expect(res.text).to.include('<title>Usage &lt;page&gt; - ').and.include('<h1>Usage &lt;page&gt;</h1>');
    expect(res.text).to.include('<a href="index.php?m=fakeaddon">Usage</a>').and.not.include('javascript:');
    expect(res.text).to.include('My Services');
    // the host's token, not the addon's own "token" var
    expect(res.text).to.include(`name="token" value="${token}"`).and.not.include('not-the-token');
    const vars = fake.clientCalls.at(-1)!;
    expect([vars.clientid, vars.language, vars.modulelink]).to.deep.equal([
      w.story.clientId,
      'english',
      'index.php?m=fakeaddon',
    ]);
    const posted = await agent
      .post('/index.php?m=fakeaddon')
      .type('form')
      .send({ token, x: '42' })
      .expect(200);
    expect(posted.text).to.include('via POST, posted 42');
    const calls = fake.clientCalls.length;
    await agent.post('/index.php?m=fakeaddon').type('form').send({ x: '43' }).expect(403);
    expect(fake.clientCalls.length).to.equal(calls);
  });

  it('respects requirelogin, and renders a public page for a visitor with the token in its forms', async () => {
    await activate();
    const visitor = request.agent(w.app);
    const res = await visitor.get('/index.php?m=fakeaddon').expect(303);
    expect(res.headers.location).to.equal('/login.php?goto=index.php%3Fm%3Dfakeaddon');
    const pub = await visitor.get('/index.php?m=fakeaddon&public=1&tpl=parts/plain').expect(200);
    expect(pub.text).to.include('<p id="plain">plain english</p>').and.include('href="login.php"');
    expect(pub.text).to.match(
      /<form method="POST" action="index.php\?m=fakeaddon"><input type="hidden" name="token" value="[^"]+">/,
    );
    await visitor
      .post('/index.php?m=fakeaddon&public=1&tpl=parts/plain')
      .type('form')
      .send({ token: tokenOf(pub.text), y: '1' })
      .expect(200);
  });

  it("answers 404 for an inactive or unknown module, and a generic 500 for a template outside the module's folder", async () => {
    const { agent } = await clientLogin(w.app);
    await agent.get('/index.php?m=fakeaddon').expect(404);
    await agent.get('/index.php?m=nosuch').expect(404);
    await activate();
    for (const tpl of ['../panel-addon-secret', 'missing', '/etc/passwd']) {
      const res = await agent.get(`/index.php?m=fakeaddon&tpl=${encodeURIComponent(tpl)}`).expect(500);
      expect(res.text).to.not.include('SECRET');
    }
    await agent.get('/index.php').expect(303).expect('location', '/clientarea.php');
  });
});

describe('injectFormToken', () => {
  it('adds the token to POST forms only, whatever their quoting and case', () => {
    const html = `<form action="a" method="post"></form><FORM METHOD=POST></FORM><form method='Post' class="x"></form><form></form><form method="get"></form>`;
    const out = injectFormToken(html, 'T"1');
    // escaped by the one escaper (module/domain/html.ts escapeHtml): " → &quot;
    expect(out.match(/name="token" value="T&quot;1"/g)).to.have.length(3);
    expect(out).to.include('<form></form>').and.include('<form method="get"></form>');
  });
});
