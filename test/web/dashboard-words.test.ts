import { expect } from 'chai';
import { describeAnomaly } from '../../module/domain/anomaly-text.js';
import { wordsFor } from '../../module/web/words.js';
import { describeEachEngine } from '../support/engines.js';
import { ADMIN, buildWebStory, login, type WebStory } from '../support/web-story.js';

const tab = '/admin/addonmodules.php?module=overusage';
const textOf = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');

/**
 * The dashboard on the panel's clock and in the right number. The web story's clock stands at
 * 5 June 2013 10:00 UTC (12:00 in Brussels) while the machine's is years later; with the plan
 * lowered to 3 TB, Ann (450 GB by 3 June: 150 GB a day, about 4 500 GB by 30 June) is the one
 * service projected over it; Jan (270 GB: about 2 700 GB) is not.
 */
describeEachEngine('the dashboard says when and how many, right', ({ db }) => {
  let s: WebStory;
  beforeEach(async function () {
    this.timeout(30_000);
    s = await buildWebStory(db().knex);
  });

  it("dates its figures by the panel's clock and counts one service as one", async () => {
    const profile = (await s.mod.billing.getProduct(s.story.productId))!;
    await s.mod.billing.setProduct(
      s.story.productId,
      { ...profile, allowance: String(3n * 10n ** 12n) } as never,
      { type: 'cli', id: 'test' },
    );
    const { agent } = await login(s.app, ADMIN);
    const t = textOf((await agent.get(`${tab}&a=dashboard&fresh=1`).expect(200)).text);
    expect(t).to.include('Figures over all services as of 5 Jun 2013 12:00:00;');
    expect(t).to.include('2 services metered');
    expect(t).to.include('0 open disputes');
    // 4 500 − 3 000 = 1 500 GB × €0.50 = €750.00, one service
    expect(t).to.include('€750.00 projected overusage at the end of the open periods (1 service)');
    expect(t).not.to.include('(1 services)');
    // the JSON API says the same instant
    const res = await (
      await import('supertest')
    )
      .default(s.app)
      .get('/overusage/api/v1/admin/dashboard')
      .set('Authorization', `Bearer ${s.token('admin', s.adminId)}`)
      .expect(200);
    expect(res.body.computedAt).to.equal('2013-06-05T10:00:00.000Z');
  });

  it('counts one open dispute as one', async () => {
    const { agent, token } = await login(s.app, ADMIN);
    await agent
      .post(`${tab}&a=line&id=${s.ann.lineId}`)
      .type('form')
      .send({ token, do: 'open_dispute', line: String(s.ann.lineId), reason: 'Ik herken dit niet.' })
      .expect(200);
    expect(textOf((await agent.get(`${tab}&a=dashboard`).expect(200)).text)).to.include('1 open dispute ');
  });
});

describe('counts in words, English and Dutch', () => {
  it('says 1 day, 2 days / 1 dag, 2 dagen', () => {
    expect(wordsFor('en').counter.longGap(1, '3 June 2013')).to.match(
      /^No reading for 1 day up to 3 June 2013:/,
    );
    expect(wordsFor('en').counter.longGap(2, '3 June 2013')).to.match(/^No reading for 2 days up to/);
    expect(wordsFor('nl').counter.longGap(1, '3 juni 2013')).to.match(
      /^Geen meting gedurende 1 dag tot 3 juni 2013:/,
    );
    expect(wordsFor('nl').counter.longGap(4, '3 juni 2013')).to.match(/^Geen meting gedurende 4 dagen tot/);
    const facts = { status: 'open', decision: null, decisionReason: null, seenOn: '2013-06-03' };
    expect(
      describeAnomaly({ ...facts, kind: 'late_reset', details: { dueOn: '2013-06-01', daysLate: 1 } }),
    ).to.include('came 1 day late');
    expect(
      describeAnomaly({ ...facts, kind: 'long_gap', details: { days: 1, toDate: '2013-06-02' } }),
    ).to.include('no good read for 1 day up to');
    expect(
      describeAnomaly({ ...facts, kind: 'long_gap', details: { days: 3, toDate: '2013-06-02' } }),
    ).to.include('no good read for 3 days up to');
  });
});
