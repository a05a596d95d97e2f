import { expect } from 'chai';
import { silentLogger } from '../../module/adapters/logger.js';
import { createOpenUsageReader } from '../../module/services/open-usage.js';
import { createPanelUsageFields, MB, toMb } from '../../module/services/panel-usage-fields.js';
import { describeEachEngine } from '../support/engines.js';
import { ANN, buildWebStory, login, type WebStory } from '../support/web-story.js';

/**
 * The panel's own "Bandwidth Usage" of a metered service shows the add-on's figures, not 0 MB / 0 MB:
 * bwusage/bwlimit in whole MB of 1024² bytes (as the SolusVM module's UsageUpdate writes them).
 * Ann (5 TB plan) has used 450 GB of June by the 3rd, Jan 270 GB.
 */
describe('bytes to the panel’s whole MB (toMb)', () => {
  it('rounds half away from zero, as PHP’s round(bytes / 1024²) does', () => {
    // 1.5 MB = 1 572 864 bytes → 2; one byte less (1.499999 MB) → 1; −1.5 MB → −2 (PHP round(−1.5) = −2)
    expect(toMb((3n * MB) / 2n)).to.equal(2);
    expect(toMb((3n * MB) / 2n - 1n)).to.equal(1);
    expect(toMb((-3n * MB) / 2n)).to.equal(-2);
    // −1.2 MB → −1 (the inline (2x + MB) / 2MB gave 0)
    expect(toMb((-12n * MB) / 10n)).to.equal(-1);
  });
});

describeEachEngine('the panel’s own bandwidth fields of metered services', ({ db }) => {
  let s: WebStory;
  beforeEach(async function () {
    this.timeout(30_000);
    s = await buildWebStory(db().knex);
  });
  const fields = async (serviceId: number) => {
    const r = await db().knex('tblhosting').where({ id: serviceId }).first('bwusage', 'bwlimit');
    return { bwusage: Number(r.bwusage), bwlimit: Number(r.bwlimit) };
  };

  it('writes the open period’s use and the allowance in MB, and asks the panel again only when they change', async () => {
    const run = createPanelUsageFields({
      usage: createOpenUsageReader(db().knex),
      billing: s.mod.billing,
      panel: s.f.panel.api,
      log: silentLogger,
    });
    expect(await run.run()).to.deep.equal({ updated: 2, failed: 0 });
    // 450 000 000 000 / 1 048 576 = 429 153.44 → 429 153 MB; 5 TB = 5 000 000 000 000 / 1 048 576 = 4 768 371.58 → 4 768 372 MB
    expect(await fields(s.ann.serviceId)).to.deep.equal({ bwusage: 429153, bwlimit: 4768372 });
    // 270 000 000 000 / 1 048 576 = 257 492.07 → 257 492 MB
    expect(await fields(s.jan.serviceId)).to.deep.equal({ bwusage: 257492, bwlimit: 4768372 });
    expect(await run.run()).to.deep.equal({ updated: 0, failed: 0 });
  });

  it('fills them after the evening sampling, so the service page shows one figure', async () => {
    // the 5-minute cron after the 4th's sampling time: the module samples and then writes the fields
    s.f.clock.set('2013-06-04T21:55:00Z');
    await s.f.panel.hooks.run('AfterCronJob', {});
    // the counter still reads 450 GB on the 4th (no traffic that day): 429 153 MB of 4 768 372 MB
    const annNow = await fields(s.ann.serviceId);
    expect(annNow).to.deep.equal({ bwusage: 429153, bwlimit: 4768372 });
    const ann = await login(s.app, ANN);
    const page = await ann.agent
      .get(`/clientarea.php?action=productdetails&id=${s.ann.serviceId}`)
      .expect(200);
    expect(page.text).to.include(`${annNow.bwusage} MB / 4768372 MB`);
    expect(page.text).not.to.include('0 MB / 0 MB');
  });
});
