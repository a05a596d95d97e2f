import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import readline from 'node:readline';
import { expect } from 'chai';

/**
 * `npm start` on a fresh data directory: the demo serves the admin and client pages within 15 s,
 * and the logins it prints work (checked over HTTP with a cookie jar, as a browser would).
 */
describe('the embedded demo (npm start)', function () {
  this.timeout(180_000);
  let dir: string;
  let child: ReturnType<typeof spawn> | null = null;
  let logged = '';
  let printed: {
    url: string;
    admin: string;
    client: string;
    logins: Array<{ who: string; login: string; password: string }>;
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-demo-'));
    child = spawn(
      process.execPath,
      ['--import', 'tsx', 'cli/main.ts', '--json', 'serve', '--demo', '--listen', '127.0.0.1:0'],
      {
        cwd: path.resolve(import.meta.dirname, '..'),
        env: { ...process.env, OVERUSAGE_DATA_DIR: dir, OVERUSAGE_LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stderr!.on('data', (b: Buffer) => (logged += b.toString()));
    let out = '';
    const rl = readline.createInterface({ input: child.stdout! });
    printed = await new Promise((resolve, reject) => {
      rl.on('line', (l) => {
        out += l + '\n';
        try {
          resolve(JSON.parse(out));
        } catch {
          // the JSON spans lines; wait for the rest
        }
      });
      child!.once('exit', (code) => reject(new Error(`the demo exited with ${code}`)));
    });
  });

  after(async () => {
    child?.kill('SIGTERM');
    if (child) await new Promise((r) => child!.once('exit', r));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  class Browser {
    cookies = new Map<string, string>();
    async get(url: string) {
      return this.request(url, { method: 'GET' });
    }
    async request(url: string, init: RequestInit & { form?: Record<string, string> }) {
      const headers: Record<string, string> = {
        cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
      };
      let body: string | undefined;
      if (init.form) {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        body = new URLSearchParams(init.form).toString();
      }
      const res = await fetch(url, { method: init.method, headers, body, redirect: 'manual' });
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const [k, v] = pair!.split('=');
        this.cookies.set(k!, v ?? '');
      }
      return { status: res.status, location: res.headers.get('location'), text: await res.text() };
    }
    static token(html: string): string {
      const m = /name="token" value="([^"]+)"/.exec(html);
      if (!m) throw new Error('no CSRF token in the page');
      return m[1]!;
    }
  }

  it('starts quietly: the replay of its history logs one line, and no warning of its own data', () => {
    const lines = logged
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { level: string; event: string });
    expect(lines.map((l) => l.event)).to.deep.equal(['demo.seeded']);
  });

  it('has an icon at /favicon.ico (browsers ask for it on every page)', async () => {
    const res = await fetch(`${printed.url}/favicon.ico`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^image\/svg\+xml/);
    expect(await res.text()).to.match(/^<svg /);
  });

  it('answers the health check', async () => {
    const res = await fetch(`${printed.url}/health`);
    expect(res.status).to.equal(200);
    expect(await res.json()).to.include({ status: 'ok', module: 'overusage' });
  });

  it('lets the printed admin login in and shows the clients and the Overusage tab', async () => {
    const admin = printed.logins.find((l) => l.who === 'admin')!;
    const b = new Browser();
    const form = await b.get(`${printed.url}/admin/login.php`);
    const login = await b.request(`${printed.url}/admin/dologin.php`, {
      method: 'POST',
      form: { username: admin.login, password: admin.password, token: Browser.token(form.text) },
    });
    expect(login.status).to.equal(303);
    const clients = await b.get(`${printed.url}/admin/clients.php`);
    expect(clients.status).to.equal(200);
    expect(clients.text).to.include('Timmermans');
    const tab = await b.get(`${printed.url}/admin/addonmodules.php?module=overusage`);
    expect(tab.status).to.equal(200);
    expect(tab.text).to.include('demo-solusvm-1');
  });

  it("lets the seed client log in and see the June invoice with May's overusage line", async () => {
    const pieter = printed.logins.find((l) => l.login === 'pieter@example.be')!;
    const b = new Browser();
    const form = await b.get(`${printed.url}/login.php`);
    const login = await b.request(`${printed.url}/dologin.php`, {
      method: 'POST',
      form: { username: pieter.login, password: pieter.password, token: Browser.token(form.text) },
    });
    expect(login.status).to.equal(303);
    const home = await b.get(`${printed.url}/clientarea.php`);
    expect(home.status).to.equal(200);
    const ids = [...home.text.matchAll(/viewinvoice\.php\?id=(\d+)/g)].map((m) => Number(m[1]));
    expect(ids.length).to.be.greaterThan(0);
    const newest = Math.max(...ids);
    const inv = await b.get(`${printed.url}/viewinvoice.php?id=${newest}`);
    expect(inv.status).to.equal(200);
    // Pieter reads Dutch: the line is in his language, with the seed thread's figures
    // in GB, the unit sold, Dutch decimals: 6 000 − 5 000 = 1 000 GB × € 0,50 = € 500,00
    expect(inv.text).to.match(
      /Overschrijding dataverkeer 1.31 mei 2013: 6\.000,00\sGB gebruikt, 5\.000,00\sGB inbegrepen, 1\.000,00\sGB × €\s0,50 = €\s500,00 \(bezwaar uiterlijk 17 juni 2013\)/,
    );
    expect(inv.text).to.match(/500,00/);
  });

  it('refuses a wrong password with a generic message', async () => {
    const b = new Browser();
    const form = await b.get(`${printed.url}/login.php`);
    const login = await b.request(`${printed.url}/dologin.php`, {
      method: 'POST',
      form: { username: 'pieter@example.be', password: 'wrong', token: Browser.token(form.text) },
    });
    expect(login.status).to.equal(401);
  });

  /** the CLI in the same checkout as `npm start`: same data directory, no OVERUSAGE_DB, no --db */
  const cli = (...args: string[]) => {
    const env: NodeJS.ProcessEnv = { ...process.env, OVERUSAGE_DATA_DIR: dir, OVERUSAGE_LOG_LEVEL: 'error' };
    delete env.OVERUSAGE_DB;
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], {
      cwd: path.resolve(import.meta.dirname, '..'),
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const masters = () => {
    const r = cli('--json', 'master', 'list');
    expect(r.code, r.err).to.equal(0);
    return (JSON.parse(r.out) as Array<{ id: number; name: string; baseUrl: string }>).map((m) => ({
      id: m.id,
      name: m.name,
      baseUrl: m.baseUrl,
    }));
  };

  it("shows the CLI of the same checkout the demo's masters, by default and with --demo, and says which database it reads", async () => {
    // the masters the admin tab shows (read first: spawnSync below blocks this process longer than
    // the server keeps an idle connection, and fetch would reuse a closed one)
    const b = new Browser();
    const admin = printed.logins.find((l) => l.who === 'admin')!;
    const form = await b.get(`${printed.url}/admin/login.php`);
    await b.request(`${printed.url}/admin/dologin.php`, {
      method: 'POST',
      form: { username: admin.login, password: admin.password, token: Browser.token(form.text) },
    });
    const tab = await b.get(`${printed.url}/admin/addonmodules.php?module=overusage&a=settings`);
    const r = cli('--json', 'master', 'list');
    expect(r.code, r.err).to.equal(0);
    expect((JSON.parse(r.out) as Array<{ name: string }>).map((m) => m.name)).to.deep.equal([
      'demo-solusvm-1',
      'demo-solusvm-2',
    ]);
    expect(r.err).to.include(`the demo's database, ${path.join(dir, 'demo.sqlite')}`);
    const explicit = cli('--json', '--demo', 'master', 'list');
    expect(explicit.code, explicit.err).to.equal(0);
    expect(JSON.parse(explicit.out)).to.deep.equal(JSON.parse(r.out));
    for (const m of masters()) expect(tab.text).to.include(`data-master="${m.id}"`);
  });

  it('refuses panel cron --demo while the demo server runs on the same database, and changes nothing', () => {
    const before = masters();
    const r = cli('panel', 'cron', '--demo', '--date', '2013-06-05');
    expect(r.code).to.equal(4);
    expect(r.err).to.match(
      /the demo server is running on this database \(process \d+, http:\/\/127\.0\.0\.1:\d+\): stop it/,
    );
    // the running demo's masters still point at its own simulator
    expect(masters()).to.deep.equal(before);
  });

  it('after the server stops: runs panel cron --demo, refuses to go back in time, and leaves a master the operator added alone', async () => {
    child!.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
    child = null;
    const added = cli(
      '--json',
      'master',
      'add',
      '--name',
      'ops-added',
      '--solusvm',
      '1',
      '--url',
      'https://solusvm.example.net:5656',
      '--api-id',
      'id',
      '--api-key',
      'key',
    );
    expect(added.code, added.err).to.equal(0);
    // the demo's clock stands at 4 June 2013 17:28 (Brussels): the 3rd is behind it
    const back = cli('panel', 'cron', '--demo', '--date', '2013-06-03');
    expect(back.code).to.equal(2);
    expect(back.err).to.include(
      "the demo's clock stands at 2013-06-04 17:28 (Brussels) and does not go back: --date must be 2013-06-04 or later",
    );
    const ran = cli('panel', 'cron', '--demo', '--date', '2013-06-05');
    expect(ran.code, ran.err).to.equal(0);
    expect(ran.out).to.include("the demo's clock now stands at 2013-06-05 23:50 (Brussels)");
    const after = masters();
    expect(after.find((m) => m.name === 'ops-added')!.baseUrl).to.equal('https://solusvm.example.net:5656');
    // and now the 4th is behind it too
    expect(cli('panel', 'cron', '--demo', '--date', '2013-06-04').code).to.equal(2);
  });

  it('resets the demo: its database removed, the next start seeds the story again', () => {
    const r = cli('demo', 'reset');
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.include(`removed ${path.join(dir, 'demo.sqlite')}`);
    expect(fs.existsSync(path.join(dir, 'demo.sqlite'))).to.equal(false);
    expect(cli('demo', 'reset').out).to.include('there was no demo database');
  });
});
