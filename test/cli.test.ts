import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { expect } from 'chai';
import { run, EXIT } from '../cli/main.js';
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

describe('the overusage command', function () {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-cli-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('migrates once and then reports it is up to date', async () => {
    const a = io(dir);
    expect(await run(['migrate'], a.io)).to.equal(EXIT.ok);
    expect(a.out.join('\n')).to.include(`applied ${MIGRATION_NAMES.length} migration(s)`);
    const b = io(dir);
    expect(await run(['--json', 'migrate', '--status'], b.io)).to.equal(EXIT.ok);
    expect(JSON.parse(b.out.join('\n'))).to.deep.equal({ applied: [...MIGRATION_NAMES], pending: [] });
  });

  it('adds and lists masters without ever printing their secrets', async () => {
    const a = io(dir);
    const code = await run(['--json', 'master', 'add', '--name', 'nl-1', '--solusvm', '1', '--url', 'https://solus.example.net:5656', '--api-id', 'ID123', '--api-key', 'sekrit-key-value'], a.io);
    expect(code).to.equal(EXIT.ok);
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
    expect(await run(['--json', 'collect', '--date', '2013-02-30'], a.io)).to.equal(EXIT.usage);
    expect(JSON.parse(a.out.join('\n')).error).to.deep.include({ code: 'INVALID_INPUT' });
    expect(JSON.parse(a.out.join('\n')).error.message).to.match(/--date must be a real calendar date/);
    const b = io(dir);
    expect(await run(['master', 'test', 'abc'], b.io)).to.equal(EXIT.usage);
    expect(b.err.join('\n')).to.match(/id must be a positive whole number/);
    const c = io(dir);
    expect(await run(['no-such-command'], c.io)).to.equal(EXIT.usage);
  });

  it('says not found with its own exit code', async () => {
    const a = io(dir);
    expect(await run(['master', 'test', '42'], a.io)).to.equal(EXIT.notFound);
    expect(a.err.join('\n')).to.match(/SolusVM master 42 does not exist/);
  });

  it('runs as the installed bin and exits non-zero with a clear message on failure', async () => {
    const bin = path.resolve(import.meta.dirname, '..', 'bin', 'overusage.js');
    const result = await new Promise<{ code: number; stderr: string; stdout: string }>((resolve) =>
      execFile(process.execPath, [bin, 'collect', '--date', 'tomorrow'], { env: { ...process.env, OVERUSAGE_DATA_DIR: dir } }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      ),
    );
    expect(result.code).to.equal(EXIT.usage);
    expect(result.stderr).to.match(/--date must be a real calendar date written YYYY-MM-DD/);
  });
});
