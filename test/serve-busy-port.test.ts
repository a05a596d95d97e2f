import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { overusage } from './support/cli-process.js';

/**
 * `overusage serve` on a port another program holds (issue 12): it says so and what to do, and the
 * process ends with exit 1 — the demo's simulator and timers used to keep it alive, serving nothing.
 */
describe('serve on a busy port', function () {
  this.timeout(180_000);
  let holder: net.Server;
  let port: number;
  let dir: string;

  before(async () => {
    holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
    port = (holder.address() as net.AddressInfo).port;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-busy-'));
  });

  after(async () => {
    await new Promise((r) => holder.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const demo of [true, false]) {
    it(`exits 1 naming the address${demo ? ' (serve --demo)' : ' (serve)'}`, async () => {
      const args = demo
        ? ['serve', '--demo', '--listen', `127.0.0.1:${port}`]
        : ['--db', `sqlite://${path.join(dir, 'plain.sqlite')}`, 'serve', '--listen', `127.0.0.1:${port}`];
      const p = overusage(args, {
        OVERUSAGE_DATA_DIR: dir,
        OVERUSAGE_LOG_LEVEL: 'warn',
        OVERUSAGE_SECRET_KEY: '11'.repeat(32),
      });
      const done = await p.exited;
      expect(done).to.deep.equal({ code: 1, signal: null });
      expect(p.stderr()).to.contain(
        `overusage: 127.0.0.1:${port} is already in use by another program: stop it, or choose another address with --listen or OVERUSAGE_LISTEN`,
      );
    });
  }
});
