import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { run } from '../../cli/main.js';
import { createServerApp } from '../../cli/serve.js';
import type { App } from '../../cli/app.js';
import { openDatabase } from '../../module/adapters/database.js';
import { createLogger } from '../../module/adapters/logger.js';
import { toCsv } from '../../module/services/evidence.js';
import { describeEachEngine } from '../support/engines.js';
import { buildWebStory, type WebStory } from '../support/web-story.js';

/**
 * The smaller findings of the outside security review (issue 18), each shown from the user's side:
 * what a spreadsheet receives, what the request log says, what a search finds, what the file
 * system holds, and what the command prints and exits with.
 */
describe('security: the smaller findings', () => {
  describe('CSV downloads', () => {
    it("defuse a cell starting with '-' that a spreadsheet would run, and keep amounts and counts as numbers", () => {
      // by hand: the attack cell gets a leading quote; "-517.00" (an amount) and -5 (a bigint)
      // are numbers and stay; "=1" and "@x" are guarded as before; a line break forces quotes
      const csv = toCsv(
        ['a', 'b', 'c', 'd', 'e', 'f'],
        [["-1+cmd|' /C calc'!A0", '-517.00', -5n, '=1', '@x', 'two\nlines']],
      );
      expect(csv).to.equal("a,b,c,d,e,f\r\n'-1+cmd|' /C calc'!A0,-517.00,-5,'=1,'@x,\"two\nlines\"\r\n");
    });
  });

  describe('the request log', () => {
    it('names the whole path of a request a nested router answered, without its query string', async () => {
      const lines: string[] = [];
      const log = createLogger({ level: 'info', write: (line) => lines.push(line) });
      const inner = express.Router().post('/tokens', (_req, res) => res.status(201).json({}));
      const server = createServerApp({ log } as unknown as App, [
        (s) => s.use('/overusage', express.Router().use('/api/v1/admin', inner)),
      ]);
      await request(server).post('/overusage/api/v1/admin/tokens?token=secret').expect(201);
      const entry = lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((e) => e.event === 'http.request');
      expect(entry, lines.join('\n')).to.not.equal(undefined);
      expect(entry!.path).to.equal('/overusage/api/v1/admin/tokens');
      expect(lines.join('\n')).not.to.include('secret');
    });
  });

  describe('the SQLite database file', () => {
    it('is created readable by its owner only (0600), like the secret key, and so are its WAL files', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-mode-'));
      const old = process.umask(0o022);
      try {
        const file = path.join(dir, 'data', 'overusage.sqlite');
        const db = openDatabase(`sqlite:${file}`);
        await db.knex.schema.createTable('t', (t) => t.integer('x'));
        await db.knex('t').insert({ x: 1 });
        expect((fs.statSync(file).mode & 0o777).toString(8)).to.equal('600');
        expect((fs.statSync(`${file}-wal`).mode & 0o777).toString(8)).to.equal('600');
        expect((fs.statSync(path.dirname(file)).mode & 0o777).toString(8)).to.equal('700');
        await db.close();
      } finally {
        process.umask(old);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('the command line', function () {
    this.timeout(120_000);
    const bin = path.resolve(import.meta.dirname, '..', '..', 'bin', 'overusage.js');
    const overusage = (dir: string, args: string[], env: Record<string, string> = {}) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(
          process.execPath,
          [bin, ...args],
          { env: { ...process.env, OVERUSAGE_DATA_DIR: dir, OVERUSAGE_LOG_LEVEL: 'error', ...env } },
          (err, stdout, stderr) =>
            resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
        ),
      );
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-cli-sec-'));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('exits 2 (bad input) with a message when an @file is missing', async () => {
      const err: string[] = [];
      const code = await run(['product', 'set', '3', '--settings', '@/nonexistent/settings.json'], {
        out: () => {},
        err: (s) => err.push(s),
        isTTY: false,
        env: { OVERUSAGE_DATA_DIR: dir, OVERUSAGE_LOG_LEVEL: 'error' },
      });
      expect(code).to.equal(2);
      expect(err.join('\n')).to.equal(
        'overusage: --settings: cannot read "/nonexistent/settings.json" (no such file)',
      );
      const rates = await run(['rates', 'import', '--service', '1', '--file', '/nonexistent/rates.csv'], {
        out: () => {},
        err: () => {},
        isTTY: false,
        env: { OVERUSAGE_DATA_DIR: dir, OVERUSAGE_LOG_LEVEL: 'error' },
      });
      expect(rates).to.equal(2);
    });

    it('says in one line, without a Node stack, that MySQL cannot be reached or refused the login', async () => {
      const gone = await overusage(dir, ['migrate'], {
        OVERUSAGE_DB: 'mysql://root@no-such-host.invalid:3306/overusage',
      });
      expect(gone.code).to.equal(1);
      expect(gone.stderr).to.match(
        /^overusage: cannot reach the database \(getaddrinfo (ENOTFOUND|EAI_AGAIN) no-such-host\.invalid\)\n$/,
      );
      // MariaDB runs here: a user it does not know
      const refused = await overusage(dir, ['migrate'], {
        OVERUSAGE_DB: 'mysql://nobody_here:wrong@127.0.0.1:3306/overusage',
      });
      expect(refused.code).to.equal(1);
      expect(refused.stderr, refused.stderr).not.to.match(/\n\s+at /);
      expect(refused.stderr).to.match(
        /^overusage: (the database refused the login|cannot reach the database) \(/,
      );
    });
  });
});

describeEachEngine('security: the admin lines search', ({ db }) => {
  let s: WebStory;
  before(async function () {
    this.timeout(60_000);
    s = await buildWebStory(db().knex);
    // two descriptions that differ only where a wildcard would blur them
    await db()
      .knex('mod_overusage_lines')
      .where({ id: s.ann.lineId })
      .update({ description: 'Traffic 50% over_limit in C:\\data' });
    await db()
      .knex('mod_overusage_lines')
      .where({ id: s.jan.lineId })
      .update({ description: 'Traffic 500 overXlimit in C:data' });
  });

  it('takes %, _ and \\ literally', async () => {
    const found = async (q: string) => (await s.mod.web.admin.lines({ q })).rows.map((r) => r.id);
    expect(await found('50%')).to.deep.equal([s.ann.lineId]);
    expect(await found('over_limit')).to.deep.equal([s.ann.lineId]);
    expect(await found('C:\\data')).to.deep.equal([s.ann.lineId]);
    expect(await found('%')).to.deep.equal([s.ann.lineId]);
    expect(await found('Traffic 5')).to.have.members([s.ann.lineId, s.jan.lineId]);
  });
});
