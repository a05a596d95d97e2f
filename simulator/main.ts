/**
 * Standalone SolusVM simulator: starts masters from a JSON config (or flags), prints one JSON line
 * with their URLs on stdout, and serves the /_sim control endpoint until SIGINT/SIGTERM or
 * POST /_sim/shutdown. Usage: see simulator/README.md.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createSettableClock } from './clock.js';
import { ConfigError, instantMs, masterFromJson, parseJson } from './config.js';
import { masterInfo, startControlServer, startMasterFromConfig } from './control-server.js';
import { createSimulator } from './index.js';

const USAGE = `usage: node --import tsx simulator/main.ts [--config file.json]
  [--control-port N] [--start ISO|ms] [--frozen]
  quick single master (when no --config): [--version 1|2] [--servers N] [--zone Z]
  [--reset-policy first_of_month|anniversary|never] [--tls] [--port N] [--name NAME]`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        config: { type: 'string' },
        'control-port': { type: 'string' },
        start: { type: 'string' },
        frozen: { type: 'boolean' },
        version: { type: 'string' },
        servers: { type: 'string' },
        zone: { type: 'string' },
        'reset-policy': { type: 'string' },
        tls: { type: 'boolean' },
        port: { type: 'string' },
        name: { type: 'string' },
        help: { type: 'boolean' },
      },
    }).values;
  } catch (e) {
    fail((e as Error).message);
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  let config: Record<string, unknown>;
  if (args.config) {
    try {
      config = parseJson(readFileSync(args.config, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      fail(`cannot read config ${args.config}: ${(e as Error).message}`);
    }
  } else {
    const count = Number(args.servers ?? '10');
    const version = Number(args.version ?? '1');
    config = {
      masters: [
        {
          name: args.name ?? 'master1',
          version,
          zone: args.zone ?? 'UTC',
          resetPolicy: args['reset-policy'] ?? 'first_of_month',
          tls: Boolean(args.tls),
          ...(args.port ? { port: Number(args.port) } : {}),
          bulk:
            count > 0
              ? [
                  {
                    count,
                    idStart: 1,
                    createdAt: '2024-01-15T00:00:00Z',
                    limitBytes: String(1024n ** 4n),
                    profile: { kind: 'constant', bytesPerDay: String(20n * 1024n ** 3n) },
                  },
                ]
              : [],
        },
      ],
    };
  }

  const clockCfg = (config.clock ?? {}) as Record<string, unknown>;
  const start = args.start ?? clockCfg.start;
  const clock = createSettableClock({
    startMs: start === undefined ? undefined : instantMs(start, 'clock.start'),
    frozen: Boolean(args.frozen ?? clockCfg.frozen),
  });
  const sim = createSimulator({ now: clock.now });

  const masters = Array.isArray(config.masters) ? config.masters : [];
  try {
    for (const [i, m] of masters.entries())
      await startMasterFromConfig(sim, masterFromJson(m, `masters[${i}]`));
  } catch (e) {
    await sim.close();
    fail(
      e instanceof ConfigError ? `bad config: ${e.message}` : `cannot start masters: ${(e as Error).message}`,
    );
  }

  const controlCfg = (config.control ?? {}) as Record<string, unknown>;
  const controlPort = Number(args['control-port'] ?? controlCfg.port ?? 0);
  let shuttingDown = false;
  const shutdown = async () => {
    if (shuttingDown) return;
    shuttingDown = true;
    await Promise.all([sim.close(), control.close()]);
    process.exit(0);
  };
  const control = await startControlServer(sim, clock, {
    port: controlPort,
    onShutdown: () => void shutdown(),
  });
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());

  process.stdout.write(
    `${JSON.stringify({ control: control.url, now: new Date(clock.now()).toISOString(), masters: sim.masters().map(masterInfo) })}\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`simulator failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
