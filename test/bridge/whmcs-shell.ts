import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { BridgeWorld } from './support.js';

/**
 * WHMCS's page shell under `php -S` (test/bridge/harness/web/router.php) around a WHMCS root
 * folder, for a bridge world: the addon is whatever the test put in <root>/modules/addons/overusage
 * (normally the package, unzipped as docs/whmcs.md says), WHMCS's own Bootstrap stylesheets are
 * Bootstrap 3 (admin area) and 4 (client theme) from npm, Smarty is Debian's smarty4.
 */
export const SMARTY = process.env.OVERUSAGE_TEST_SMARTY ?? '/usr/share/php/smarty4/Smarty.class.php';
const ROUTER = path.resolve(import.meta.dirname, 'harness', 'web', 'router.php');
const NODE_MODULES = path.resolve(import.meta.dirname, '..', '..', 'node_modules');

export interface WhmcsShell {
  url: string;
  root: string;
  /** PHP errors, warnings and notices of every page so far */
  errors(): string[];
  /** WHMCS's module log so far */
  moduleLog(): Array<{
    module: string;
    action: string;
    request: string;
    response: string;
    processed: string;
  }>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Makes <root>'s WHMCS parts (its stylesheets) and serves it; the addon folder is the caller's. */
export async function startWhmcsShell(w: BridgeWorld, root: string): Promise<WhmcsShell> {
  if (!fs.existsSync(SMARTY))
    throw new Error(`Smarty is needed for the client area's template: no ${SMARTY} (Debian package smarty4)`);
  fs.mkdirSync(path.join(root, 'assets', 'css'), { recursive: true });
  fs.copyFileSync(
    path.join(NODE_MODULES, 'bootstrap3', 'dist', 'css', 'bootstrap.min.css'),
    path.join(root, 'assets', 'css', 'bootstrap3.min.css'),
  );
  fs.copyFileSync(
    path.join(NODE_MODULES, 'bootstrap4', 'dist', 'css', 'bootstrap.min.css'),
    path.join(root, 'assets', 'css', 'bootstrap4.min.css'),
  );
  // a page without an icon of its own (WHMCS's plain "Invalid Token") makes the browser ask for one
  fs.writeFileSync(path.join(root, 'favicon.ico'), '');
  const work = fs.mkdtempSync(path.join(w.dir, 'shell-'));
  for (const d of ['sessions', 'compile']) fs.mkdirSync(path.join(work, d));
  const errorLogFile = path.join(work, 'php-errors.log');
  const moduleLogFile = path.join(work, 'module-log.jsonl');
  fs.writeFileSync(errorLogFile, '');
  fs.writeFileSync(moduleLogFile, '');
  const configFile = path.join(work, 'config.json');
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      db: w.dbUrl,
      panelApi: { url: w.api.url, identifier: w.api.identifier, secret: w.api.secret },
      sessionDir: path.join(work, 'sessions'),
      compileDir: path.join(work, 'compile'),
      moduleLogFile,
      errorLogFile,
      smarty: SMARTY,
    }),
  );
  let child: ChildProcess | null = null;
  let url = '';
  let stderr = '';
  for (let attempt = 0; attempt < 5 && !url; attempt++) {
    const port = await freePort();
    child = spawn(
      'php',
      [
        '-d',
        'error_reporting=-1',
        '-d',
        'display_errors=0',
        '-d',
        'log_errors=0',
        '-S',
        `127.0.0.1:${port}`,
        '-t',
        root,
        ROUTER,
      ],
      {
        env: { ...process.env, OVERUSAGE_HARNESS_CONFIG: configFile, PHP_CLI_SERVER_WORKERS: '4' },
        stdio: ['ignore', 'ignore', 'pipe'],
        // its own process group: with PHP_CLI_SERVER_WORKERS the server forks workers, which a
        // signal to the parent alone leaves running (seen: php -S processes alive long after the tests)
        detached: true,
      },
    );
    child.stderr!.on('data', (d) => (stderr += String(d)));
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) break;
      try {
        await fetch(`http://127.0.0.1:${port}/clientarea.php`);
        url = `http://127.0.0.1:${port}`;
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    if (!url) killGroup(child, 'SIGKILL');
  }
  if (!url || !child) throw new Error(`php -S did not start: ${stderr}`);
  const running = child;
  const onExit = () => killGroup(running, 'SIGKILL');
  process.once('exit', onExit);
  return {
    url,
    root,
    errors: () => fs.readFileSync(errorLogFile, 'utf8').split('\n').filter(Boolean),
    moduleLog: () =>
      fs
        .readFileSync(moduleLogFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map(
          (l) =>
            JSON.parse(l) as {
              module: string;
              action: string;
              request: string;
              response: string;
              processed: string;
            },
        ),
    close: async () => {
      process.removeListener('exit', onExit);
      if (running.exitCode === null) {
        const exited = new Promise((r) => running.once('exit', r));
        killGroup(running, 'SIGTERM');
        await exited;
      }
      killGroup(running, 'SIGKILL'); // workers that outlived their parent
    },
  };
}

/** Signals the server and the workers it forked (its process group). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}
