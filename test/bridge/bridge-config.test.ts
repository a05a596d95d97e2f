import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { loadConfig } from '../../cli/config.js';
import { openApp } from '../../cli/app.js';
import { createServerApp } from '../../cli/serve.js';
import { bridgeMounts } from '../../cli/bridge-mount.js';
import { silentLogger } from '../../module/adapters/logger.js';
import { ModuleError } from '../../module/domain/errors.js';

describe('configuring the WHMCS bridge (overusage serve)', () => {
  let dir: string;
  const base = () => ({
    OVERUSAGE_DATA_DIR: dir,
    OVERUSAGE_SECRET_KEY: 'a'.repeat(64),
    OVERUSAGE_DB: `sqlite:${path.join(dir, 'db.sqlite')}`,
  });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overusage-bridge-config-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('has no bridge unless a secret is set', () => {
    expect(loadConfig(base()).bridge).to.equal(undefined);
  });

  it('refuses a secret shorter than 32 characters', () => {
    expect(() => loadConfig({ ...base(), OVERUSAGE_BRIDGE_SECRET: 'short' })).to.throw(
      ModuleError,
      /at least 32 characters/,
    );
  });

  it('reads the secret from a file, and WHMCS API credentials all together or not at all', () => {
    fs.writeFileSync(path.join(dir, 'bridge.secret'), `${'s'.repeat(40)}\n`);
    const c = loadConfig({ ...base(), OVERUSAGE_BRIDGE_SECRET_FILE: path.join(dir, 'bridge.secret') });
    expect(c.bridge).to.deep.equal({ secret: 's'.repeat(40), secretSource: path.join(dir, 'bridge.secret') });
    expect(() => loadConfig({ ...base(), OVERUSAGE_WHMCS_URL: 'https://billing.example.net/' })).to.throw(
      ModuleError,
      /together/,
    );
    const api = loadConfig({
      ...base(),
      OVERUSAGE_WHMCS_URL: 'https://billing.example.net/',
      OVERUSAGE_WHMCS_API_IDENTIFIER: 'id',
      OVERUSAGE_WHMCS_API_SECRET: 'sec',
    });
    expect(api.whmcsApi).to.deep.equal({
      url: 'https://billing.example.net/',
      identifier: 'id',
      secret: 'sec',
    });
  });

  it('serves /bridge/v1 in relay mode when only the secret is set, and refuses unsigned requests there', async () => {
    const app = openApp(loadConfig({ ...base(), OVERUSAGE_BRIDGE_SECRET: 'x'.repeat(40) }), {
      log: silentLogger,
    });
    try {
      await app.module.migrate();
      expect(app.bridge?.mode).to.equal('relay');
      // the module has a panel: invoice lines are placed through the bridge
      expect(app.module.lines).to.not.equal(undefined);
      const server = createServerApp(app, bridgeMounts(app));
      const res = await request(server)
        .post('/bridge/v1/hook')
        .set('content-type', 'application/json')
        .send('{}');
      expect(res.status).to.equal(401);
      expect((await request(server).get('/health')).status).to.equal(200);
    } finally {
      await app.close();
    }
  });

  it("uses WHMCS's External API when its credentials are set", async () => {
    const app = openApp(
      loadConfig({
        ...base(),
        OVERUSAGE_BRIDGE_SECRET: 'x'.repeat(40),
        OVERUSAGE_WHMCS_URL: 'https://billing.example.net/',
        OVERUSAGE_WHMCS_API_IDENTIFIER: 'id',
        OVERUSAGE_WHMCS_API_SECRET: 'sec',
      }),
      { log: silentLogger },
    );
    try {
      expect(app.bridge?.mode).to.equal('api');
    } finally {
      await app.close();
    }
  });
});
