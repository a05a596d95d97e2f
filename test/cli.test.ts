import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { expect } from 'chai';
import { run } from '../cli/main.js';
import { MIGRATION_NAMES } from '../module/adapters/migrator.js';

function io(dataDir: string) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      out: (s: string) => out.push(s),
      err: (s: string) => err.push(s),
      isTTY: false,
      env: { OVERUSAGE_DATA_DIR: dataDir, OVERUSAGE_LOG_LEVEL: 'error' } as NodeJS.ProcessEnv,
    },
  };
}

/**
 * The installed command as a user or a script runs it: a process of its own, its exit code and
 * what it prints. The codes are the README's (Exit codes): 0 done, 1 failed, 2 bad usage or
 * input, 3 not found, 4 conflict; written here as numbers, not read from the code.
 */
function overusage(
  dir: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = path.resolve(import.meta.dirname, '..', 'bin', 'overusage.js');
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...process.env, OVERUSAGE_DATA_DIR: dir, OVERUSAGE_LOG_LEVEL: 'error', ...env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    ),
  );
}

describe('the overusage command', function () {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-cli-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('migrates once and then reports it is up to date', async () => {
    const a = io(dir);
    expect(await run(['migrate'], a.io)).to.equal(0);
    expect(a.out.join('\n')).to.include(`applied ${MIGRATION_NAMES.length} migrations`);
    const b = io(dir);
    expect(await run(['--json', 'migrate', '--status'], b.io)).to.equal(0);
    expect(JSON.parse(b.out.join('\n'))).to.deep.equal({ applied: [...MIGRATION_NAMES], pending: [] });
  });

  it('adds and lists masters without ever printing their secrets', async () => {
    const a = io(dir);
    const code = await run(
      [
        '--json',
        'master',
        'add',
        '--name',
        'nl-1',
        '--solusvm',
        '1',
        '--url',
        'https://solus.example.net:5656',
        '--api-id',
        'ID123',
        '--api-key',
        'sekrit-key-value',
      ],
      a.io,
    );
    expect(code).to.equal(0);
    const b = io(dir);
    await run(['--json', 'master', 'list'], b.io);
    const listed = JSON.parse(b.out.join('\n'));
    expect(listed).to.have.length(1);
    expect(listed[0]).to.include({ name: 'nl-1', version: 1 });
    expect(JSON.stringify(listed) + a.out.join('')).to.not.include('sekrit-key-value');
    // sealed at rest too
    const dbText = fs.readFileSync(path.join(dir, 'overusage.sqlite')).toString('latin1');
    expect(dbText).to.not.include('sekrit-key-value');
  });

  it('answers bad input with a message and the usage exit code', async () => {
    const a = io(dir);
    expect(await run(['--json', 'collect', '--date', '2013-02-30'], a.io)).to.equal(2);
    expect(JSON.parse(a.out.join('\n')).error).to.deep.include({ code: 'INVALID_INPUT' });
    expect(JSON.parse(a.out.join('\n')).error.message).to.match(/--date must be a real calendar date/);
    const b = io(dir);
    expect(await run(['master', 'test', 'abc'], b.io)).to.equal(2);
    expect(b.err.join('\n')).to.match(/id must be a positive whole number/);
    const c = io(dir);
    expect(await run(['no-such-command'], c.io)).to.equal(2);
  });

  it('says not found with its own exit code', async () => {
    const a = io(dir);
    expect(await run(['master', 'test', '42'], a.io)).to.equal(3);
    expect(a.err.join('\n')).to.match(/SolusVM master 42 does not exist/);
  });

  it('runs as the installed bin and exits 2 with a clear message on bad input', async function () {
    this.timeout(120_000);
    const result = await overusage(dir, ['collect', '--date', 'tomorrow']);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.match(/--date must be a real calendar date written YYYY-MM-DD/);
  });

  // A process of its own takes seconds to start on a loaded machine: the limit is generous.
  it('exits 4 when what it is asked to add already exists, and changes nothing', async function () {
    this.timeout(120_000);
    const add = [
      'master',
      'add',
      '--name',
      'nl-1',
      '--solusvm',
      '1',
      '--url',
      'https://solus.example.net:5656',
      '--api-id',
      'ID123',
      '--api-key',
      'sekrit-key-value',
    ];
    expect(await run(add, io(dir).io)).to.equal(0);
    const again = await overusage(dir, add);
    expect(again.code).to.equal(4);
    expect(again.stderr.trim()).to.equal('overusage: a master named "nl-1" already exists');
    const list = io(dir);
    expect(await run(['--json', 'master', 'list'], list.io)).to.equal(0);
    expect(JSON.parse(list.out.join('\n'))).to.have.length(1);
  });

  it('exits 1 when a master cannot be reached on a connection test, and when the database cannot be reached', async function () {
    this.timeout(120_000);
    // a port on 127.0.0.1 that nothing listens on: closed as soon as it was found free
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    expect(
      await run(
        [
          'master',
          'add',
          '--name',
          'gone',
          '--solusvm',
          '1',
          '--url',
          `https://127.0.0.1:${port}`,
          '--api-id',
          'ID123',
          '--api-key',
          'sekrit-key-value',
        ],
        io(dir).io,
      ),
    ).to.equal(0);
    const test = await overusage(dir, ['master', 'test', '1']);
    expect(test.code).to.equal(1);
    expect(test.stdout).to.match(/^FAILED: /);
    const noDb = await overusage(dir, ['migrate'], {
      OVERUSAGE_DB: `mysql://root@127.0.0.1:${port}/overusage`,
    });
    expect(noDb.code).to.equal(1);
    expect(noDb.stderr).to.match(
      /^overusage: cannot reach the database \(connect ECONNREFUSED 127\.0\.0\.1:\d+\)/,
    );
  });
});
