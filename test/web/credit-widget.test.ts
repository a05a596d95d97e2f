import { expect } from 'chai';
import request from 'supertest';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import {
  ANN,
  buildWebStory,
  JAN,
  login,
  waivePaidLine,
  type WebStory,
  pageText,
} from '../support/web-story.js';

const textOf = pageText;

/**
 * The credit a waived paid line gave, and where it went (issue 15 item 4), read on the client's
 * widget. The story (test/support/web-story.ts): Ann's renewal of 2 June, €19.95 hosting + €500.00
 * overusage = €519.95, and Jan's, €24.50 + €250.00 = €274.50, are paid on 3 June; each disputes the
 * overusage on 5 June and it is waived on 10 June: €500.00 and €250.00 go to their accounts as
 * credit. On 20 June Ann is also given €5.00 by hand (a description with markup). The renewals of
 * 2 July (hosting only: €19.95 and €24.50) take what they need of the credit, as the panel does by
 * default, oldest credit first:
 *   Ann: 500.00 − 19.95 = 480.05 left of the dispute's credit (the €5.00 given later is untouched);
 *   Jan: 250.00 − 24.50 = 225.50 left.
 */
describeEachEngine(
  'the credit a waived paid line gave, and the invoice it paid, on the client’s widget',
  ({ db }) => {
    let s: WebStory;
    let july: { ann: number; jan: number };

    const widgetOf = async (who: typeof ANN) =>
      (await (await login(s.app, who)).agent.get('/index.php?m=overusage').expect(200)).text;

    describe('before any invoice has used it', () => {
      it('shows the whole €500.00 left, and an undecided line has no credit in the API', async function () {
        this.timeout(40_000);
        s = await buildWebStory(db().knex);
        await waivePaidLine(s, 'ann');
        expect(textOf(await widgetOf(ANN))).to.include('€500.00 credited to your account · €500.00 left');
        // Jan's line is not disputed: nothing credited
        const jan = await request(s.app)
          .get(`/overusage/api/v1/client/lines/${s.jan.lineId}`)
          .set('Authorization', `Bearer ${s.token('client', s.jan.clientId)}`)
          .expect(200);
        expect(jan.body.line.credit).to.equal(null);
      });
    });

    describe('after the July renewals took some of it', () => {
      beforeEach(async function () {
        this.timeout(40_000);
        s = await buildWebStory(db().knex);
        await waivePaidLine(s, 'ann');
        await waivePaidLine(s, 'jan');
        s.f.clock.set('2013-06-20T09:00:00Z');
        await s.f.panel.api.call('AddCredit', {
          clientid: s.ann.clientId,
          description: '<img src=x onerror=alert(1)> goodwill',
          amount: '5.00',
        });
        s.f.clock.set('2013-07-02T07:00:00Z');
        await s.f.panel.runDailyAutomation('2013-07-02');
        const renewal = async (clientId: number) =>
          toNum(
            (await s.f.knex('tblinvoices').where({ userid: clientId }).orderBy('id', 'desc').first('id')).id,
          );
        july = { ann: await renewal(s.ann.clientId), jan: await renewal(s.jan.clientId) };
      });

      it('has the July renewals paid from the credit, as the panel applies it by default', async () => {
        // Ann: €19.95 of hosting, €19.95 of credit applied → a total of 0.00 (the credit counts off
        // the total, as in WHMCS), paid; 500.00 + 5.00 − 19.95 = 485.05 on account
        const ann = await s.f
          .knex('tblinvoices')
          .where({ id: july.ann })
          .first('status', 'subtotal', 'credit', 'total');
        expect([
          String(ann.status),
          String(ann.subtotal),
          String(ann.credit),
          String(ann.total),
        ]).to.deep.equal(['Paid', '19.95', '19.95', '0.00']);
        expect(
          String((await s.f.knex('tblclients').where({ id: s.ann.clientId }).first('credit')).credit),
        ).to.equal('485.05');
        // Jan: €24.50 from his €250.00 → 225.50 on account
        const jan = await s.f
          .knex('tblinvoices')
          .where({ id: july.jan })
          .first('status', 'subtotal', 'credit', 'total');
        expect([
          String(jan.status),
          String(jan.subtotal),
          String(jan.credit),
          String(jan.total),
        ]).to.deep.equal(['Paid', '24.50', '24.50', '0.00']);
        expect(
          String((await s.f.knex('tblclients').where({ id: s.jan.clientId }).first('credit')).credit),
        ).to.equal('225.50');
      });

      it('tells Ann, on the line, what was credited, the invoice it paid (linked) and what is left', async () => {
        const html = await widgetOf(ANN);
        expect(textOf(html)).to.include(
          `€500.00 credited to your account · €19.95 used on invoice #${july.ann} · €480.05 left`,
        );
        const line = new RegExp(`data-line="${s.ann.lineId}"[\\s\\S]*?</li>`).exec(html)![0];
        expect(line).to.include(
          `<a href="viewinvoice.php?id=${july.ann}" class="ou-credit-invoice">invoice #${july.ann}</a>`,
        );
        // she can open it: it is her own invoice, paid from the credit
        const client = await login(s.app, ANN);
        expect(textOf((await client.agent.get(`/viewinvoice.php?id=${july.ann}`).expect(200)).text)).to.match(
          /Paid/,
        );
      });

      it('tells Ann the same in her past periods, beside May', async () => {
        const text = textOf(await widgetOf(ANN));
        // the May row: used, included, over, then what it bills now and the credit
        expect(text).to.match(
          new RegExp(
            `1 – 31 May 2013 [^€]* waived €500\\.00 credited to your account · €19\\.95 used on invoice #${july.ann} · €480\\.05 left`,
          ),
        );
      });

      it('tells Jan in Dutch, with Dutch amounts', async () => {
        const text = textOf(await widgetOf(JAN));
        // € 250,00 − € 24,50 = € 225,50
        expect(text).to.include(
          `€ 250,00 op uw tegoed gezet · € 24,50 gebruikt voor factuur #${july.jan} · nog € 225,50 over`,
        );
      });

      it('gives the same credit in the client’s JSON API, on the line and in the list of lines', async () => {
        const money = (amount: string) => ({ amount, currency: 'EUR' });
        const api = (path: string, clientId: number) =>
          request(s.app)
            .get(`/overusage/api/v1${path}`)
            .set('Authorization', `Bearer ${s.token('client', clientId)}`);
        // Ann: 500.00 given, 19.95 used on the July renewal, 500.00 − 19.95 = 480.05 left (the €5.00 given by hand is not this line's)
        const ann = {
          given: money('500.00'),
          uses: [{ invoiceId: july.ann, amount: money('19.95') }],
          left: money('480.05'),
        };
        expect(
          (await api(`/client/lines/${s.ann.lineId}`, s.ann.clientId).expect(200)).body.line.credit,
        ).to.deep.equal(ann);
        const list = (await api('/client/lines', s.ann.clientId).expect(200)).body.lines;
        expect(list.map((l: { id: number; credit: unknown }) => [l.id, l.credit])).to.deep.equal([
          [s.ann.lineId, ann],
        ]);
        // Jan: 250.00 − 24.50 = 225.50
        expect(
          (await api(`/client/lines/${s.jan.lineId}`, s.jan.clientId).expect(200)).body.line.credit,
        ).to.deep.equal({
          given: money('250.00'),
          uses: [{ invoiceId: july.jan, amount: money('24.50') }],
          left: money('225.50'),
        });
        // another client's line is not there at all
        await api(`/client/lines/${s.jan.lineId}`, s.ann.clientId).expect(404);
      });

      it('shows each client only their own credit, and never the credit log’s own words', async () => {
        // every credit on a page (the line's and the May row's) is the client's own, nothing of the other's
        const credits = (html: string) =>
          [...html.matchAll(/<span class="ou-credit">([\s\S]*?)<\/span>/g)].map((m) => textOf(m[1]!).trim());
        const ann = await widgetOf(ANN);
        const annSays = `€500.00 credited to your account · €19.95 used on invoice #${july.ann} · €480.05 left`;
        expect(credits(ann)).to.deep.equal([annSays, annSays]);
        expect(ann).to.not.include(`invoice #${july.jan}`);
        expect(ann).to.not.include('<img src=x');
        expect(ann).to.not.include('goodwill');
        const jan = await widgetOf(JAN);
        const janSays = `€ 250,00 op uw tegoed gezet · € 24,50 gebruikt voor factuur #${july.jan} · nog € 225,50 over`;
        expect(credits(jan)).to.deep.equal([janSays, janSays]);
        expect(jan).to.not.include(`factuur #${july.ann}<`);
      });
    });
  },
);
