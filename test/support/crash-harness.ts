import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fork, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import knexFactory from 'knex';
import type { Engine } from '../../module/adapters/database.js';
import { MYSQL_URL, type TestDatabase } from './engines.js';
import type { CrashOrders, CrashReport } from './crash-child.js';

const CHILD = path.join(import.meta.dirname, 'crash-child.ts');
const ROOT = path.resolve(import.meta.dirname, '..', '..');

let bundled: Promise<string | null> | null = null;

/**
 * The child as one file, built once per test process: it starts in ~0.6 s instead of ~1.4 s under
 * tsx, and a sweep starts one child per statement. The same sources through the same compiler
 * (esbuild, which tsx runs on); each file keeps its own import.meta paths, so views and package
 * files are found where they are. Written under node_modules/.cache so its packages resolve.
 * Without esbuild, the child runs under tsx.
 */
function childEntry(): Promise<string | null> {
  bundled ??= (async () => {
    try {
      const esbuild = await import('esbuild');
      const out = path.join(ROOT, 'node_modules', '.cache', 'overusage-crash', `child-${process.pid}.mjs`);
      await esbuild.build({
        entryPoints: [CHILD],
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        packages: 'external',
        outfile: out,
        logLevel: 'error',
        plugins: [
          {
            name: 'keep-import-meta-paths',
            setup(b) {
              b.onLoad({ filter: /\.ts$/ }, (args) => ({
                loader: 'ts',
                contents: fs
                  .readFileSync(args.path, 'utf8')
                  .replaceAll('import.meta.dirname', JSON.stringify(path.dirname(args.path)))
                  .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)),
              }));
            },
          },
        ],
      });
      process.once('exit', () => fs.rmSync(out, { force: true }));
      return out;
    } catch {
      return null;
    }
  })();
  return bundled;
}

export interface ChildOutcome {
  /** 'SIGKILL' when it died at its statement */
  signal: NodeJS.Signals | null;
  code: number | null;
  report: CrashReport | null;
  error: string | null;
}

/** A child loaded and waiting for its orders. */
export interface WarmChild {
  run(orders: CrashOrders): Promise<ChildOutcome>;
  kill(): void;
}

export async function warmChild(): Promise<WarmChild> {
  const entry = await childEntry();
  const child: ChildProcess = entry
    ? fork(entry, [], { execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
    : fork(CHILD, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      reject(new Error(`the crash child exited before it was ready (${code ?? signal}): ${stderr}`)),
    );
    child.once('message', (m) => {
      if (m !== 'ready') return reject(new Error(`unexpected first message ${JSON.stringify(m)}`));
      child.removeAllListeners('exit');
      resolve({
        run(orders) {
          return new Promise((done) => {
            let answer: { ok: boolean; report?: CrashReport; error?: string } | null = null;
            child.on('message', (a) => (answer = a as typeof answer));
            child.once('exit', (code, signal) =>
              done({
                code,
                signal,
                report: answer?.report ?? null,
                error:
                  answer && !answer.ok ? (answer.error ?? 'failed') : code !== 0 && !signal ? stderr : null,
              }),
            );
            child.send(orders);
          });
        },
        kill: () => void child.kill('SIGKILL'),
      });
    });
  });
}

/**
 * A database prepared once, copied for each kill: a file copy on SQLite (the template is closed,
 * so its WAL is checkpointed into the file), CREATE TABLE … LIKE and INSERT … SELECT on MariaDB.
 */
export interface Template {
  copy(): Promise<{ url: string; drop(): Promise<void> }>;
  drop(): Promise<void>;
}

export async function templateOf(engine: Engine, db: TestDatabase): Promise<Template> {
  if (engine === 'sqlite') {
    const file = db.url.slice('sqlite:'.length);
    await db.knex.destroy();
    const source = fs.readFileSync(file);
    return {
      async copy() {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-crash-'));
        const target = path.join(dir, 'db.sqlite');
        fs.writeFileSync(target, source);
        return {
          url: `sqlite:${target}`,
          drop: async () => fs.rmSync(dir, { recursive: true, force: true }),
        };
      },
      drop: () => db.drop(),
    };
  }
  const name = new URL(db.url).pathname.slice(1);
  const admin = knexFactory({ client: 'mysql2', connection: mysqlConnection(), pool: { min: 0, max: 1 } });
  const tables = (
    await admin.raw(
      'SELECT table_name AS t FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name',
      [name],
    )
  )[0].map((r: { t: string }) => r.t) as string[];
  return {
    async copy() {
      const copy = `${name}_k${crypto.randomBytes(3).toString('hex')}`;
      await admin.raw(`CREATE DATABASE \`${copy}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      for (const t of tables) {
        await admin.raw(`CREATE TABLE \`${copy}\`.\`${t}\` LIKE \`${name}\`.\`${t}\``);
        await admin.raw(`INSERT INTO \`${copy}\`.\`${t}\` SELECT * FROM \`${name}\`.\`${t}\``);
      }
      const u = new URL(db.url);
      u.pathname = `/${copy}`;
      return {
        url: u.toString(),
        drop: async () => void (await admin.raw(`DROP DATABASE IF EXISTS \`${copy}\``)),
      };
    },
    async drop() {
      await admin.destroy();
      await db.drop();
    },
  };
}

function mysqlConnection() {
  const u = new URL(MYSQL_URL);
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password || ''),
  };
}

/**
 * Kills a child at every statement 1..n of its window, in turn, each on a fresh copy of the
 * template, and hands each copy to `check` after the kill. The next child loads while the current
 * one runs. Returns the statement count of the whole window (a first run that is not killed).
 */
export async function killAtEveryStatement(
  template: Template,
  orders: (url: string, killAt: number) => CrashOrders,
  check: (url: string, killAt: number, sql: string) => Promise<void>,
  opts: { only?: number[]; onMeasured?: (sql: string[]) => void } = {},
): Promise<{ statements: number; sql: string[] }> {
  // two children load ahead while one runs (loading is what a kill point costs most)
  const warm: Array<Promise<WarmChild>> = [warmChild(), warmChild()];
  const take = () => {
    const c = warm.shift()!;
    warm.push(warmChild());
    return c;
  };
  const measured = await template.copy();
  let whole: ChildOutcome;
  try {
    whole = await (await take()).run(orders(measured.url, 0));
  } finally {
    await measured.drop();
  }
  if (!whole.report) throw new Error(`the window did not run whole: ${whole.error ?? whole.signal}`);
  const n = whole.report.statements;
  opts.onMeasured?.(whole.report.sql);
  const ks = opts.only ?? Array.from({ length: n }, (_, i) => i + 1);
  try {
    for (const k of ks) {
      const t0 = Date.now();
      const db = await template.copy();
      const t1 = Date.now();
      try {
        const child = await take();
        const t2 = Date.now();
        const out = await child.run(orders(db.url, k));
        if (out.signal !== 'SIGKILL')
          throw new Error(
            `statement ${k} of ${n}: the child was not killed (exit ${out.code}): ${out.error ?? ''}`,
          );
        const t3 = Date.now();
        await check(db.url, k, whole.report.sql[k - 1] ?? '');
        if (process.env.OVERUSAGE_CRASH_TIMING)
          console.log(`k=${k} copy ${t1 - t0} wait ${t2 - t1} child ${t3 - t2} check ${Date.now() - t3}`);
      } finally {
        await db.drop();
      }
    }
  } finally {
    for (const w of warm) (await w.catch(() => null))?.kill();
  }
  return whole.report;
}
