import fs from 'node:fs';
import os from 'node:os';
import v8 from 'node:v8';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { plural } from '../module/domain/plural.js';
import { ModuleError, type ErrorCode } from '../module/domain/errors.js';
import { parseIsoDate } from '../module/domain/calendar.js';
import { humanBytes } from '../module/domain/bytes.js';
import { SolusVmError } from '../module/adapters/solusvm-types.js';
import { DatabaseGoneError } from '../module/adapters/db-errors.js';
import { ownerProcess } from '../module/adapters/lock-store.js';
import { loadConfig, parseListen } from './config.js';
import { openApp, type App } from './app.js';
import { createProgress } from './progress.js';
import { registerPeriodCommands } from './period-commands.js';
import { registerPanelCommands } from './panel-commands.js';
// The server, the demo (panel, simulator) and the web mounts are loaded by the commands that use
// them: `overusage collect` at 100 000 services runs in less memory without them.
import { createLogger } from '../module/adapters/logger.js';

/**
 * The `overusage` command line: a stable contract for operators and scripts. Every command takes
 * --json for machine output; exit codes are listed in EXIT and in the README.
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, notFound: 3, conflict: 4 } as const;

const EXIT_FOR: Record<ErrorCode, number> = {
  INVALID_INPUT: EXIT.usage,
  NOT_FOUND: EXIT.notFound,
  NOT_ALLOWED: EXIT.failure,
  UNAUTHORIZED: EXIT.failure,
  CONFLICT: EXIT.conflict,
  LOCKED: EXIT.conflict,
  UNEXPECTED_STATE: EXIT.failure,
  UPSTREAM: EXIT.failure,
  CONFIG: EXIT.usage,
};

export interface Io {
  out(text: string): void;
  err(text: string): void;
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
}

const stringify = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x), 2);

export type Registrar = (program: Command, ctx: CommandContext) => void;

export interface CommandContext {
  io: Io;
  /** opens the app with the global options; closed after the command */
  app(): App;
  /** the app with its migrations applied */
  ready(): Promise<App>;
  json(): boolean;
  print(human: string, data: unknown): void;
}

const extraRegistrars: Registrar[] = [];
/** Other parts of the project (the reference panel) add their sub-commands here. */
export function registerCommands(r: Registrar): void {
  extraRegistrars.push(r);
}

export async function run(argv: string[], io: Io): Promise<number> {
  const program = new Command('overusage');
  let opened: App | null = null;
  let exitCode: number = EXIT.ok;
  const globals = () => program.opts<{ json?: boolean; db?: string; zone?: string; demo?: boolean }>();
  const ctx: CommandContext = {
    io,
    app() {
      if (!opened) {
        const config = loadConfig(io.env, {
          ...(globals().db ? { databaseUrl: globals().db! } : {}),
          ...(globals().zone ? { zone: globals().zone! } : {}),
          ...(globals().demo ? { demo: true } : {}),
        });
        // say so when the demo's database was taken because it is the only one here
        if (config.databaseSource === 'demo' && !globals().demo)
          io.err(
            `(the demo's database, ${config.databaseUrl.replace(/^sqlite:/, '')}: the only one in ${config.dataDir}; --db or OVERUSAGE_DB chooses another)`,
          );
        opened = openApp(config);
      }
      return opened;
    },
    async ready() {
      const app = ctx.app();
      await app.module.migrate();
      return app;
    },
    json: () => Boolean(globals().json),
    print(human, data) {
      io.out(globals().json ? stringify(data) : human);
    },
  };

  program
    .description(
      'Bills SolusVM bandwidth overusage on renewal invoices, with a reclamation window and per-line disputes.',
    )
    .option('--json', 'machine-readable output on stdout')
    .option('--db <url>', 'database URL (overrides OVERUSAGE_DB)')
    .option('--zone <tz>', "the panel's time zone (overrides OVERUSAGE_TIME_ZONE)")
    .option(
      '--demo',
      "the demo's database (what `npm start` shows), also the default when it is the only database in the data directory",
    )
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .showHelpAfterError();

  program
    .command('migrate')
    .description("apply the module's database migrations (mod_overusage_* tables)")
    .option('--status', 'list applied and pending migrations, change nothing')
    .option('--unlock', 'free the lock a migration stopped half-way left (only when no migrate is running)')
    .action(async (o: { status?: boolean; unlock?: boolean }) => {
      const mod = ctx.app().module;
      if (o.unlock) {
        const freed = await mod.unlockMigrations({ type: 'cli', id: null });
        ctx.print(
          freed
            ? 'the migration lock is freed; run overusage migrate again'
            : 'the migrations were not locked; nothing changed',
          { freed },
        );
        return;
      }
      if (o.status) {
        const s = await mod.migrationStatus();
        ctx.print(
          `applied: ${s.applied.length ? s.applied.join(', ') : 'none'}\npending: ${s.pending.length ? s.pending.join(', ') : 'none'}`,
          s,
        );
        return;
      }
      const applied = await mod.migrate();
      ctx.print(
        applied.length
          ? `applied ${applied.length} ${plural(applied.length, 'migration', 'migrations')}: ${applied.join(', ')}`
          : 'already up to date',
        { applied },
      );
    });

  program
    .command('collect')
    .description(
      "sample every active service's traffic counter for a day (default: the day that is ending or just ended)",
    )
    .option('--date <YYYY-MM-DD>', 'the day to close; only possible within 12 hours of its end')
    .option('--master <id...>', 'only these masters')
    .option(
      '--masters-at-once <n>',
      'masters this run works on at a time (default all); with several collectors, 1 or 2 spreads the masters between them',
    )
    .option(
      '--wait <seconds>',
      'keep trying masters other runs hold for this long, and finish the share of a run that dies (default 0)',
    )
    .action(async (o: { date?: string; master?: string[]; mastersAtOnce?: string; wait?: string }) => {
      // A run's pages and batches live long enough to reach V8's old generation, which it lets grow
      // to 4× what is live (~42 MB) before a full collection: the peak RSS rose with the run's length
      // (245 MB at 100 000 services, 298 at 300 000). Twice what is live: 223 MB at 60 000 to 100 000.
      v8.setFlagsFromString('--heap-growing-percent=100');
      const app = await ctx.ready();
      const date = o.date ? parseIsoDate(o.date, '--date') : undefined;
      const masterIds = o.master?.map((m) => positiveInt(m, '--master'));
      const mastersAtOnce =
        o.mastersAtOnce === undefined ? undefined : positiveInt(o.mastersAtOnce, '--masters-at-once');
      const waitMs = o.wait === undefined ? undefined : nonNegativeInt(o.wait, '--wait') * 1000;
      const bar = !ctx.json() && io.isTTY ? createProgress() : null;
      const summary = await app.module.metering.collect({
        ...(date ? { date } : {}),
        ...(masterIds ? { masterIds } : {}),
        ...(mastersAtOnce ? { mastersAtOnce } : {}),
        ...(waitMs !== undefined ? { waitMs } : {}),
        ...(bar ? { onProgress: (p) => bar.update(p) } : {}),
      });
      bar?.stop();
      const masters = summary.masters
        .filter((m) => m.status !== 'done')
        .map((m) => `\n  ${m.name}: ${m.status}${m.message ? ` (${m.message})` : ''}`)
        .join('');
      // what this run found of runs that died: said, not only logged
      const abandoned = summary.abandonedRuns.map((r) => `\n  run ${r.runId} ${r.message}`).join('');
      const takenOver = summary.masters
        .filter((m) => m.tookOverFrom)
        .map((m) => `\n  ${m.name}: took the lease over from ${ownerWords(m.tookOverFrom!)}, which is gone`)
        .join('');
      const reasons = summary.failureReasons
        .map(
          (r) =>
            `\n  ${r.count} × ${r.message}${r.services.length ? ` (${r.services.join(', ')}${r.count > r.services.length ? ', …' : ''})` : ''}`,
        )
        .join('');
      ctx.print(
        `collect ${summary.sampleDate}: ${summary.readOk} read, ${summary.already} already sampled, ${summary.failed} failed, ${summary.gaps} gaps, ${summary.resets} resets` +
          `${summary.anomalies ? `, ${summary.anomalies} anomalies` : ''} in ${(summary.durationMs / 1000).toFixed(1)} s${abandoned}${takenOver}${masters}${reasons}`,
        summary,
      );
      // Not the day's work done: a master errored (1), or another run holds a master (4, as a
      // conflict); the summary above says which and why.
      if (summary.masters.some((m) => m.status === 'error')) exitCode = EXIT.failure;
      else if (summary.masters.some((m) => m.status === 'locked')) exitCode = EXIT.conflict;
    });

  program
    .command('prune')
    .description(
      'drop raw samples older than --keep-months, keeping the evidence of billed lines (--evidence-years) and of open disputes; daily figures and totals stay',
    )
    .option('--keep-months <n>', 'months of raw samples to keep (default 13)')
    .option('--evidence-years <n>', 'years to keep the samples behind billed lines (default 7)')
    .option('--dry-run', 'count only; delete nothing')
    .action(async (o: { keepMonths?: string; evidenceYears?: string; dryRun?: boolean }) => {
      const app = await ctx.ready();
      const r = await app.module.retention.prune({
        ...(o.keepMonths !== undefined ? { keepMonths: positiveInt(o.keepMonths, '--keep-months') } : {}),
        ...(o.evidenceYears !== undefined
          ? { evidenceYears: positiveInt(o.evidenceYears, '--evidence-years') }
          : {}),
        dryRun: Boolean(o.dryRun),
        actor: { type: 'cli', id: null },
      });
      ctx.print(
        `prune${r.dryRun ? ' (dry run)' : ''}: samples of days before ${r.cutoff}: ${r.examined} examined, ${r.deleted} ${r.dryRun ? 'would be ' : ''}deleted; kept ${r.keptBilled} behind billed lines (their evidence is kept from ${r.evidenceCutoff} on), ${r.keptDisputed} behind open disputes, ${r.keptOpenOrLatest} of open periods or latest readings`,
        r,
      );
    });

  const master = program.command('master').description('SolusVM masters: add, list, test, update, remove');
  const masterOptions = (c: Command) =>
    c
      .option('--name <name>', 'a unique name')
      .addOption(new Option('--solusvm <version>', 'SolusVM version').choices(['1', '2']))
      .option('--url <url>', 'v1: https://master:5656 ; v2: https://host/api/v1')
      .option('--api-id <id>', 'v1 Admin API id')
      .option('--api-key <key>', 'v1 Admin API key (stored sealed); or set OVERUSAGE_SOLUSVM_KEY')
      .option('--token <token>', 'v2 API token (stored sealed); or set OVERUSAGE_SOLUSVM_TOKEN')
      .addOption(new Option('--tls <mode>', 'certificate check').choices(['verify', 'pinned', 'insecure']))
      .option('--fingerprint <sha256>', 'the pinned certificate fingerprint (with --tls pinned)')
      .option('--master-zone <tz>', "the master's time zone (its reset runs at local midnight)")
      .addOption(
        new Option('--reset-policy <policy>', 'when SolusVM resets counters').choices([
          'first_of_month',
          'anniversary',
          'never',
        ]),
      )
      .addOption(
        new Option(
          '--anniversary-from <source>',
          "where an anniversary day comes from when a service does not set one: SolusVM's creation day (SolusVM 2), or the panel's registration day",
        ).choices(['solusvm', 'panel']),
      )
      .option('--concurrency <n>', 'calls at once to this master')
      .option('--timeout <ms>', 'per call')
      .option(
        '--panel-server <id>',
        "the panel's server entry (tblservers.id) whose services run on this master",
      )
      .addOption(
        new Option(
          '--api-user-type <type>',
          'SolusVM 1: the Admin API (default) or a Reseller API user, as the official module\'s "Module User Type"',
        ).choices(['admin', 'reseller']),
      )
      .addOption(
        new Option(
          '--unit-labels <reading>',
          "SolusVM 2: read KB/MB/GB/TB labels as 1024-based (binary, SolusIO's meaning before 2022; default) or as 10^n (decimal)",
        ).choices(['binary', 'decimal']),
      )
      .option('--basic-auth-user <user>', 'an htpasswd user in front of the master (stored sealed)')
      .option(
        '--basic-auth-password <password>',
        'its password (stored sealed); or set OVERUSAGE_SOLUSVM_BASIC_PASSWORD',
      );
  const masterInput = (o: Record<string, string | undefined>) => {
    const input: Record<string, unknown> = {};
    if (o.name !== undefined) input.name = o.name;
    if (o.solusvm !== undefined) input.version = Number(o.solusvm);
    if (o.url !== undefined) input.baseUrl = o.url;
    if (o.apiId !== undefined) input.apiId = o.apiId;
    const key = o.apiKey ?? io.env.OVERUSAGE_SOLUSVM_KEY;
    if (key !== undefined) input.apiKey = key;
    const token = o.token ?? io.env.OVERUSAGE_SOLUSVM_TOKEN;
    if (token !== undefined) input.token = token;
    if (o.tls !== undefined) input.tlsMode = o.tls;
    if (o.fingerprint !== undefined) input.tlsFingerprint = o.fingerprint;
    if (o.masterZone !== undefined) input.timeZone = o.masterZone;
    if (o.resetPolicy !== undefined) input.resetPolicy = o.resetPolicy;
    if (o.anniversaryFrom !== undefined) input.anniversaryFrom = o.anniversaryFrom;
    if (o.concurrency !== undefined) input.concurrency = positiveInt(o.concurrency, '--concurrency');
    if (o.timeout !== undefined) input.timeoutMs = positiveInt(o.timeout, '--timeout');
    if (o.panelServer !== undefined) input.panelServerId = positiveInt(o.panelServer, '--panel-server');
    if (o.apiUserType !== undefined) input.apiUserType = o.apiUserType;
    if (o.unitLabels !== undefined) input.unitLabels = o.unitLabels;
    if (o.basicAuthUser !== undefined) input.basicAuthUser = o.basicAuthUser;
    const basic = o.basicAuthPassword ?? io.env.OVERUSAGE_SOLUSVM_BASIC_PASSWORD;
    if (basic !== undefined) input.basicAuthPassword = basic;
    return input;
  };
  masterOptions(master.command('add').description('add a SolusVM master')).action(async (o) => {
    const app = await ctx.ready();
    const m = await app.module.masters.add(masterInput(o) as never, { type: 'cli', id: null });
    for (const n of m.notes) io.err(`overusage: note: ${n.replace('<id>', String(m.id))}`);
    ctx.print(
      `added master ${m.id} "${m.name}" (SolusVM ${m.version}, ${m.baseUrl}); test it with: overusage master test ${m.id}`,
      m,
    );
  });
  masterOptions(master.command('update <id>').description('change a master')).action(
    async (id: string, o) => {
      const app = await ctx.ready();
      const m = await app.module.masters.update(positiveInt(id, 'id'), masterInput(o) as never, {
        type: 'cli',
        id: null,
      });
      for (const n of m.notes) io.err(`overusage: note: ${n.replace('<id>', String(m.id))}`);
      ctx.print(`updated master ${m.id} "${m.name}"`, m);
    },
  );
  master
    .command('list')
    .description('list masters (never their secrets)')
    .action(async () => {
      const app = await ctx.ready();
      const { masters: list, unreadable } = await app.module.masters.listAll();
      // a master whose stored row does not read is named on stderr with the column, the others listed
      for (const u of unreadable)
        io.err(`overusage: master ${u.id}${u.name ? ` "${u.name}"` : ''} cannot be read: ${u.problem}`);
      ctx.print(
        list.length || unreadable.length
          ? list
              .map(
                (m) =>
                  `${m.id}\t${m.name}\tv${m.version}\t${m.baseUrl}\ttls=${m.tlsMode}\t${m.timeZone}\t${m.resetPolicy}\t${m.active ? 'active' : 'inactive'}`,
              )
              .join('\n')
          : 'no masters yet: overusage master add --help',
        unreadable.length ? { masters: list, unreadable } : list,
      );
      if (unreadable.length) exitCode = EXIT.failure;
    });
  master
    .command('test <id>')
    .description('connect to a master and say in words what works or what is wrong')
    .option('--server <ref>', 'also check that the master has this server (v1 vserverid or v2 server id)')
    .action(async (id: string, o: { server?: string }) => {
      const app = await ctx.ready();
      const masterId = positiveInt(id, 'id');
      const report = await app.module.masters.test(masterId);
      let server = '';
      let found: { exists: boolean } | { unknown: string } | null = null;
      if (o.server !== undefined && report.ok) {
        found = await app.module.masters.checkServer(masterId, o.server);
        server =
          'exists' in found
            ? found.exists
              ? `\nserver ${o.server}: found`
              : `\nserver ${o.server}: NOT FOUND on this master (check the id)`
            : `\nserver ${o.server}: could not be checked (${found.unknown})`;
      }
      ctx.print(
        `${report.ok ? 'OK' : 'FAILED'}: ${report.message}${report.fingerprint256 ? `\ncertificate SHA-256: ${report.fingerprint256}` : ''}${server}`,
        { ...report, ...(found ? { server: { ref: o.server, ...found } } : {}) },
      );
      if (!report.ok || (found && !('exists' in found && found.exists))) exitCode = EXIT.failure;
    });
  master
    .command('remove <id>')
    .description('remove a master that has no linked services')
    .action(async (id: string) => {
      const app = await ctx.ready();
      await app.module.masters.remove(positiveInt(id, 'id'), { type: 'cli', id: null });
      ctx.print(`removed master ${id}`, { removed: Number(id) });
    });

  const service = program.command('service').description('links between panel services and SolusVM servers');
  service
    .command('link')
    .description('link a panel service to a SolusVM server')
    .requiredOption('--service <id>', 'panel service id (tblhosting.id)')
    .requiredOption('--client <id>', 'panel client id')
    .requiredOption('--master <id>', 'SolusVM master id')
    .requiredOption('--server <ref>', 'v1 vserverid or v2 server id')
    .option('--product <id>', 'panel product id')
    .option('--uuid <uuid>', 'v2 server uuid')
    .addOption(
      new Option('--reset-policy <policy>', "override the master's reset policy").choices([
        'first_of_month',
        'anniversary',
        'never',
      ]),
    )
    .option('--reset-day <day>', 'day of month of the anniversary reset')
    .option('--no-check', 'link without asking the master whether it has the server')
    .action(async (o: Record<string, string | undefined | boolean>) => {
      const app = await ctx.ready();
      const masterId = positiveInt(String(o.master), '--master');
      const serviceId = positiveInt(String(o.service), '--service');
      const server = String(o.server);
      if (o.check !== false) {
        // a link to a server the master does not have would only ever give failed reads
        const master = await app.module.masters.get(masterId);
        const found = await app.module.masters.checkServer(masterId, server);
        if ('exists' in found && !found.exists) {
          throw new ModuleError(
            'NOT_FOUND',
            `master ${masterId} ("${master.name}") has no server ${server} (for service ${serviceId}): check the ${master.version === 1 ? 'vserverid (SolusVM: Virtual Servers)' : 'server id (SolusVM 2: Servers)'}; nothing was linked`,
          );
        }
        if ('unknown' in found)
          io.err(
            `overusage: warning: master ${masterId} ("${master.name}") could not be asked whether it has server ${server} (${found.unknown}); the link is kept: run overusage master test ${masterId}`,
          );
      }
      const l = await app.module.links.link(
        {
          serviceId,
          clientId: positiveInt(String(o.client), '--client'),
          masterId,
          serverRef: server,
          ...(o.product ? { productId: positiveInt(String(o.product), '--product') } : {}),
          ...(o.uuid ? { serverUuid: String(o.uuid) } : {}),
          ...(o.resetPolicy ? { resetPolicy: String(o.resetPolicy) } : {}),
          ...(o.resetDay ? { resetDay: positiveInt(String(o.resetDay), '--reset-day') } : {}),
        },
        { type: 'cli', id: null },
      );
      ctx.print(`service ${l.serviceId} → master ${l.masterId} server ${l.serverRef}`, l);
    });
  service
    .command('list')
    .description('list linked services')
    .option('--master <id>', 'only this master')
    .option('--limit <n>', 'at most n rows', '100')
    .action(async (o: { master?: string; limit: string }) => {
      const app = await ctx.ready();
      const list = await app.module.links.list({
        ...(o.master ? { masterId: positiveInt(o.master, '--master') } : {}),
        limit: positiveInt(o.limit, '--limit'),
      });
      ctx.print(
        list
          .map(
            (l) =>
              `${l.serviceId}\tclient ${l.clientId}\tmaster ${l.masterId}\t${l.serverRef}\t${l.active ? 'active' : 'inactive'}\tlast sample ${l.lastSampleDate ?? '-'}`,
          )
          .join('\n') || 'no linked services',
        list,
      );
    });

  program
    .command('serve')
    .description('run the HTTP server (health check at /health)')
    .option('--listen <host:port>', 'overrides OVERUSAGE_LISTEN')
    .option('--demo', 'the embedded demo: reference panel, SolusVM simulator and demo data')
    .action(async (o: { listen?: string; demo?: boolean }) => {
      // `--demo` after the command name is read by the program's own `--demo` as well
      o.demo ||= globals().demo;
      const config = loadConfig(io.env, globals().zone ? { zone: globals().zone! } : {});
      const { host, port } = o.listen ? parseListen(o.listen) : config.listen;
      let close: () => Promise<void>;
      if (o.demo) {
        const log = createLogger({ level: config.logLevel });
        const started = Date.now();
        const { serveDemo } = await import('./serve-demo.js');
        const running = await serveDemo(config, log, {
          host,
          port,
          ...(globals().db ? { databaseUrl: globals().db! } : {}),
        });
        close = running.close;
        const logins = running.demo.logins
          .map((l) => `  ${l.who.padEnd(18)} ${l.login.padEnd(20)} ${l.password.padEnd(11)} ${l.story}`)
          .join('\n');
        const dbNote = running.demo.db.safeUrl;
        ctx.print(
          `Overusage demo on ${running.url} (ready in ${((Date.now() - started) / 1000).toFixed(1)} s; the demo's clock stands at ${running.demo.clock.now().setZone('Europe/Brussels').toFormat('d LLLL yyyy HH:mm')} in Brussels)\n` +
            `  admin area:  ${running.url}/admin/\n  client area: ${running.url}/clientarea.php\n  health:      ${running.url}/health\n  database:    ${dbNote} (the CLI in this checkout reads it too: npm run overusage -- --demo master list)\n\nLogins:\n${logins}`,
          {
            url: running.url,
            admin: `${running.url}/admin/`,
            client: `${running.url}/clientarea.php`,
            database: dbNote,
            logins: running.demo.logins,
          },
        );
      } else {
        const app = await ctx.ready();
        const [{ busyPort, createServerApp, listen }, { bridgeMounts }, { webMounts }] = await Promise.all([
          import('./serve.js'),
          import('./bridge-mount.js'),
          import('./web-mount.js'),
        ]);
        const server = await listen(
          createServerApp(app, [...bridgeMounts(app), ...webMounts(app)]),
          host,
          port,
        ).catch((err: unknown) => {
          throw busyPort(err, host, port);
        });
        const addr = server.address() as { port: number };
        const bridgeNote = app.bridge
          ? `; WHMCS bridge at /bridge/v1, panel calls ${app.bridge.mode === 'api' ? "over WHMCS's API" : 'relayed through the bridge'}`
          : '';
        ctx.print(
          `overusage listening on http://${host}:${addr.port} (health: /health; JSON API: ${app.module.web.apiBase}${bridgeNote})`,
          {
            url: `http://${host}:${addr.port}`,
            bridge: app.bridge ? { path: '/bridge/v1', mode: app.bridge.mode } : null,
          },
        );
        app.log.info('server.started', { host, port: addr.port, database: app.db.safeUrl });
        close = () => new Promise<void>((r) => server.close(() => r()));
      }
      // Serve until a signal; then close cleanly.
      await new Promise<void>((resolve) => {
        const stop = () => void close().then(resolve, resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });

  program
    .command('sync')
    .description(
      "link the panel's services of billed products to their SolusVM servers (vserverid custom field; master mapped with --panel-server)",
    )
    .action(async () => {
      const app = await ctx.ready();
      if (!app.module.sync)
        throw new ModuleError(
          'CONFIG',
          'no panel API is configured: set OVERUSAGE_WHMCS_URL and API credentials (see README)',
        );
      const r = await app.module.sync.sync();
      ctx.print(
        `${r.linked} linked, ${r.updated} updated, ${r.stopped} stopped${r.skipped.length ? `, ${r.skipped.length} skipped:\n` + r.skipped.map((x) => `  service ${x.serviceId}: ${x.reason}`).join('\n') : ''}`,
        r,
      );
    });

  program
    .command('reconcile')
    .description(
      'finish InvoiceCreation deliveries a crash or a lost connection stopped part-way: a pending line goes on its invoice while it is unpaid, a renewal invoice whose delivery never finished gets its lines; a paid or cancelled invoice lets the charge wait for the next one (the daily job does the same)',
    )
    .action(async () => {
      const app = await ctx.ready();
      if (!app.module.lines)
        throw new ModuleError(
          'CONFIG',
          'no panel API is configured: set OVERUSAGE_WHMCS_URL and API credentials (see README)',
        );
      const r = await app.module.lines.reconcile();
      const details = [
        ...r.recovered.map(
          (x) =>
            `  invoice ${x.invoiceId}: its InvoiceCreation delivery had not finished; ${x.added} ${plural(x.added, 'line', 'lines')} added now`,
        ),
        ...r.released.map(
          (x) =>
            `  charge ${x.chargeId} waits for the next invoice: invoice ${x.invoiceId} was ${x.invoiceStatus.toLowerCase()} before its line could be added`,
        ),
        ...r.busy.map(
          (id) =>
            `  invoice ${id} is being handled by another delivery right now: left for the next reconciliation`,
        ),
        ...r.unreadable.map(
          (x) =>
            `  invoice ${x.invoiceId} left as it is: line ${x.lineId ?? '?'} cannot be read (${x.column}); correct the column in the database`,
        ),
      ];
      ctx.print(
        `reconcile: ${r.placed} pending ${plural(r.placed, 'line', 'lines')} put on ${plural(r.placed, 'its', 'their')} unpaid invoice, ${r.confirmed} found on their invoice already, ${r.recovered.length} renewal ${plural(r.recovered.length, 'invoice', 'invoices')} given the lines of a delivery that had not finished, ${r.released.length} ${plural(r.released.length, 'charge', 'charges')} left to wait for the next invoice` +
          details.map((d) => `\n${d}`).join(''),
        r,
      );
      // an invoice another delivery holds is not done yet: a conflict, said above
      if (r.busy.length) exitCode = EXIT.conflict;
      // an invoice left for a line that cannot be read is not done either: a failure, said above
      if (r.unreadable.length) exitCode = EXIT.failure;
    });

  program
    .command('rates')
    .description("import a service's five-minute rates for the 95th-percentile model (SolusVM keeps none)")
    .command('import')
    .requiredOption('--service <id>', 'the service')
    .requiredOption('--file <csv>', 'lines "slot start (ISO 8601),bits per second"; "-" for standard input')
    .action(async (o: { service: string; file: string }) => {
      const app = await ctx.ready();
      const csv = o.file === '-' ? fs.readFileSync(0, 'utf8') : readInputFile(o.file, '--file');
      const r = await app.module.rateSamples.importCsv(positiveInt(o.service, '--service'), csv, {
        type: 'cli',
        id: null,
      });
      ctx.print(`${r.read} read, ${r.inserted} new, ${r.unchanged} already held`, r);
    });

  const product = program.command('product').description("products' overusage billing settings");
  product
    .command('set <productId>')
    .description(
      'set how a panel product bills overusage (JSON: unit, model, allowance, prices, window …; see README)',
    )
    .requiredOption('--settings <json>', 'the settings as JSON, or @file.json')
    .action(async (productId: string, o: { settings: string }) => {
      const app = await ctx.ready();
      const text = o.settings.startsWith('@') ? readInputFile(o.settings.slice(1), '--settings') : o.settings;
      let input: unknown;
      try {
        input = JSON.parse(text);
      } catch {
        throw new ModuleError('INVALID_INPUT', '--settings is not valid JSON');
      }
      const p = await app.module.billing.setProduct(positiveInt(productId, 'productId'), input as never, {
        type: 'cli',
        id: null,
      });
      ctx.print(
        `product ${productId}: ${p.model} per ${p.unit}, allowance ${p.allowance}, ${Object.keys(p.prices).join('/')} prices, ${p.window.days}-day ${p.window.counting} window`,
        p,
      );
    });
  product
    .command('list')
    .description('list the products billed for overusage')
    .action(async () => {
      const app = await ctx.ready();
      const list = await app.module.billing.listProducts();
      ctx.print(
        list
          .map(
            (p) =>
              `${p.productId}\t${p.profile.enabled ? 'on' : 'off'}\t${p.profile.model}\t${p.profile.unit}\t${p.profile.allowance}\t${JSON.stringify(p.profile.prices)}`,
          )
          .join('\n') || 'no product is billed yet',
        list,
      );
    });

  program
    .command('evidence <lineId>')
    .description("a line's evidence: daily figures and raw samples (JSON, or --csv days|samples)")
    .addOption(new Option('--csv <what>', 'CSV instead of JSON').choices(['days', 'samples']))
    .action(async (lineId: string, o: { csv?: 'days' | 'samples' }) => {
      const app = await ctx.ready();
      const { evidenceJson, daysCsv, samplesCsv } = await import('../module/services/evidence.js');
      const e = await app.module.evidence.forLine(positiveInt(lineId, 'lineId'));
      io.out(
        o.csv === 'days'
          ? daysCsv(e).trimEnd()
          : o.csv === 'samples'
            ? samplesCsv(e).trimEnd()
            : evidenceJson(e),
      );
    });

  program
    .command('token')
    .description(
      'a short-lived signed token naming an admin or a client, for the JSON API (Authorization: Bearer) and the embed pages (?token=)',
    )
    .addOption(new Option('--admin <id>', 'the admin it names').conflicts('client'))
    .addOption(new Option('--client <id>', 'the client it names'))
    .option('--ttl <seconds>', 'lifetime in seconds (at most a day)', '900')
    .action(async (o: { admin?: string; client?: string; ttl: string }) => {
      if (!o.admin && !o.client)
        throw new ModuleError(
          'INVALID_INPUT',
          'name the admin (--admin <id>) or the client (--client <id>) the token is for',
        );
      const app = await ctx.ready();
      const subject = o.admin
        ? { type: 'admin' as const, id: positiveInt(o.admin, '--admin') }
        : { type: 'client' as const, id: positiveInt(o.client!, '--client') };
      const t = app.module.web.issueToken(subject, { ttlSeconds: positiveInt(o.ttl, '--ttl') });
      ctx.print(t.token, { token: t.token, expiresAt: new Date(t.expiresAt * 1000).toISOString(), subject });
    });

  registerPanelCommands(
    program
      .command('panel')
      .description(
        'the reference panel: its API credentials, clients, products, services and daily cron, on any panel database',
      ),
    ctx,
    globals,
  );

  program
    .command('demo')
    .description('the embedded demo of `npm start`')
    .command('reset')
    .description(
      "removes the demo's database, so the next `npm start` seeds the story again from 1 March 2013",
    )
    .action(async () => {
      const config = loadConfig(io.env);
      const { demoDatabaseUrl } = await import('./config.js');
      const { demoState } = await import('./demo.js');
      const url = globals().db ?? io.env.OVERUSAGE_DB ?? demoDatabaseUrl(config.dataDir);
      if (!url.startsWith('sqlite:') || url === 'sqlite::memory:') {
        throw new ModuleError(
          'INVALID_INPUT',
          `demo reset removes the demo's SQLite database only; ${url.replace(/\/\/[^@/]*@/, '//')} is not one (drop that database yourself)`,
        );
      }
      const state = await demoState(url);
      if (state.server)
        throw new ModuleError(
          'CONFLICT',
          `the demo server is running on this database (process ${state.server.pid}, ${state.server.url}): stop it first`,
        );
      const file = url.slice('sqlite:'.length);
      const removed = [file, `${file}-wal`, `${file}-shm`, `${file}-journal`].filter((f) => fs.existsSync(f));
      for (const f of removed) fs.rmSync(f);
      ctx.print(
        removed.length
          ? `removed ${file}: the next npm start seeds the demo again`
          : `there was no demo database at ${file}`,
        { removed },
      );
    });

  registerPeriodCommands(program, ctx);
  for (const r of extraRegistrars) r(program, ctx);

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    exitCode = reportError(err, ctx, io);
  } finally {
    if (opened) await (opened as App).close().catch(() => {});
  }
  return exitCode;
}

function reportError(err: unknown, ctx: CommandContext, io: Io): number {
  if (err instanceof CommanderError) {
    if (
      err.code === 'commander.helpDisplayed' ||
      err.code === 'commander.version' ||
      err.code === 'commander.help'
    )
      return EXIT.ok;
    return EXIT.usage;
  }
  let code: string;
  let message: string;
  let exit: number;
  if (err instanceof ModuleError) {
    code = err.code;
    message = err.message;
    exit = EXIT_FOR[err.code];
  } else if (err instanceof DatabaseGoneError) {
    code = err.code;
    message = `${err.message}${err.note ? `; ${err.note}` : ''}. Run the command again once the database is back: what was done is kept, and collect reads only the services still missing`;
    exit = EXIT.failure;
  } else if (err instanceof SolusVmError) {
    code = `SOLUSVM_${err.kind.toUpperCase()}`;
    message = err.message;
    exit = EXIT.failure;
  } else {
    const e = err as NodeJS.ErrnoException;
    code = 'FAILURE';
    message = DB_UNREACHABLE.has(String(e?.code))
      ? `cannot reach the database (${e.message})`
      : e?.code === 'ER_ACCESS_DENIED_ERROR'
        ? `the database refused the login (${e.message})`
        : (e?.message ?? String(err));
    exit = EXIT.failure;
  }
  if (ctx.json()) io.out(stringify({ error: { code, message } }));
  else io.err(`overusage: ${message}`);
  return exit;
}

// the network errors of a database that is not there (mysql2 and Node's), said in one line
const DB_UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
]);

/** A file an option names (`@file`, `--file`): one it cannot read is bad input (exit 2), not a failure. */
export function readInputFile(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ModuleError(
      'INVALID_INPUT',
      `${what}: cannot read "${file}" (${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'a directory' : (err as Error).message})`,
    );
  }
}

/** A lease owner (host:pid:random) as an operator reads it. */
function ownerWords(owner: string): string {
  const p = ownerProcess(owner);
  return p ? `process ${p.pid} on ${p.host === os.hostname() ? 'this host' : `host ${p.host}`}` : owner;
}

function positiveInt(text: string, what: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new ModuleError('INVALID_INPUT', `${what} must be a positive whole number, not "${text}"`);
  }
  return Number(text);
}

function nonNegativeInt(text: string, what: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) > 86_400) {
    throw new ModuleError(
      'INVALID_INPUT',
      `${what} must be a whole number of seconds from 0 to 86400, not "${text}"`,
    );
  }
  return Number(text);
}

export { humanBytes };

// Run when executed directly (node --import tsx cli/main.ts …).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const code = await run(process.argv.slice(2), {
    out: (s) => process.stdout.write(s + '\n'),
    err: (s) => process.stderr.write(s + '\n'),
    isTTY: Boolean(process.stderr.isTTY),
    env: process.env,
  });
  process.exitCode = code;
}
