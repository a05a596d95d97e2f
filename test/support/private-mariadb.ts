import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { until } from './cli-process.js';
import { freePort } from './free-port.js';

/**
 * A MariaDB server of the test's own (its data directory, a free port on 127.0.0.1), started from
 * the machine's mariadbd so that a test can kill it with SIGKILL and start it again on the same
 * data — what a crash or a restart of the database server does to a running command. The shared
 * server of the other suites is never touched.
 */
export interface PrivateMariaDb {
  port: number;
  url(database: string): string;
  start(): Promise<void>;
  /** SIGKILL, as a crash; resolves once the process is gone */
  kill(): Promise<void>;
  running(): boolean;
  destroy(): Promise<void>;
}

const INSTALL = ['/usr/bin/mariadb-install-db', '/usr/bin/mysql_install_db'].find((f) => fs.existsSync(f));
const SERVER = ['/usr/sbin/mariadbd', '/usr/sbin/mysqld'].find((f) => fs.existsSync(f));

/** null when it can be run here, else why not */
export function privateMariaDbMissing(): string | null {
  if (!INSTALL || !SERVER) return 'mariadbd and mariadb-install-db are not installed';
  return null;
}

export async function privateMariaDb(): Promise<PrivateMariaDb> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-mariadb-'));
  const data = path.join(dir, 'data');
  // root may run it only when told so; no grant tables: root@127.0.0.1 without a password, as the shared server
  execFileSync(
    INSTALL!,
    [
      '--no-defaults',
      `--datadir=${data}`,
      '--user=root',
      '--skip-test-db',
      '--auth-root-authentication-method=normal',
    ],
    { stdio: 'ignore' },
  );
  const port = await freePort();
  let child: ChildProcess | null = null;
  const db: PrivateMariaDb = {
    port,
    url: (database) => `mysql://root@127.0.0.1:${port}/${database}`,
    running: () => child !== null && child.exitCode === null && child.signalCode === null,
    async start() {
      child = spawn(
        SERVER!,
        [
          '--no-defaults',
          `--datadir=${data}`,
          `--port=${port}`,
          '--bind-address=127.0.0.1',
          `--socket=${path.join(dir, 'sock')}`,
          '--user=root',
          '--skip-grant-tables',
          '--skip-log-bin',
          '--innodb-buffer-pool-size=32M',
          `--pid-file=${path.join(dir, 'pid')}`,
        ],
        { stdio: 'ignore' },
      );
      const mine = child;
      await until(`the private MariaDB on port ${port} to answer`, () => {
        if (mine.exitCode !== null) throw new Error(`the private mariadbd exited with ${mine.exitCode}`);
        try {
          execFileSync('mariadb', ['-h', '127.0.0.1', '-P', String(port), '-u', 'root', '-e', 'select 1'], {
            stdio: 'ignore',
          });
          return true;
        } catch {
          return false;
        }
      });
    },
    async kill() {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await gone;
    },
    async destroy() {
      await db.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return db;
}
