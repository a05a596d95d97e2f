import { expect } from 'chai';
import { describeEachEngine } from '../support/engines.js';
import { documented } from '../support/openapi-schema.js';
import { spoilInstant } from '../support/spoil.js';
import { loggedWebStory, pageText } from '../support/web-story.js';

/**
 * The dashboard's panels "Services near or over their allowance" and the projected overusage with
 * one service row changed by hand. With the plan lowered to 300 GB (test/support/web-story.ts: by
 * 3 June Ann used 450 GB, 150 GB a day, Jan 270 GB, 90 GB a day; June has 30 days):
 *   Ann 450 / 300 = 150 %, at this pace 4 500 GB: (4 500 − 300) × €0.50 = €2 100.00
 *   Jan 270 / 300 =  90 %, at this pace 2 700 GB: (2 700 − 300) × €0.50 = €1 200.00
 *   projected: €2 100.00 + €1 200.00 = €3 300.00 over 2 services.
 * Jan's last sampling instant spoiled: his row cannot be read, so the EUR total is unavailable (not
 * Ann's €2 100.00 alone) and he is named in the near-limit panel beside Ann. Before: the page 500.
 */
describeEachEngine(
  "the dashboard's near-limit and projected panels with a row that cannot be read",
  ({ db, engine }) => {
    const w = loggedWebStory(db);
    const check = documented();
    beforeEach(async () => {
      const profile = (await w.s.mod.billing.getProduct(w.s.story.productId))!;
      await w.s.mod.billing.setProduct(
        w.s.story.productId,
        { ...profile, allowance: String(300n * 10n ** 9n) } as never,
        { type: 'cli', id: 'test' },
      );
    });
    const dashboard = () => w.api('admin', '/dashboard').query({ fresh: 'true' });
    const page = () => w.adminPage('dashboard', '&fresh=1');

    it('projects €3 300.00 over Ann and Jan when both read', async () => {
      const res = await dashboard().expect(200);
      expect(res.body.projected).to.deep.equal([{ amount: '3300.00', currency: 'EUR', services: 2 }]);
      expect(res.body.attention.map((a: { serviceId: number }) => a.serviceId)).to.deep.equal([
        w.s.ann.serviceId,
        w.s.jan.serviceId,
      ]);
      expect(pageText((await page()).text)).to.include(
        '€3,300.00 projected overusage at the end of the open periods',
      );
    });

    it("makes the EUR total unavailable, not Ann's €2 100.00, and names Jan near his allowance", async () => {
      await spoilInstant(db().knex, engine, 'mod_overusage_services', 'last_sampled_at', {
        service_id: w.s.jan.serviceId,
      });
      const jan = {
        id: w.s.jan.serviceId,
        unreadable: { column: 'mod_overusage_services.last_sampled_at', reason: 'not a datetime' },
      };
      const res = await dashboard();
      expect(res.status).to.equal(200);
      expect(check('/api/v1/admin/dashboard', res.body)).to.equal(true);
      expect(res.body.projected).to.deep.equal([{ currency: 'EUR', services: 1, unavailable: [jan] }]);
      expect(res.body.attention[0]).to.deep.equal(jan);
      expect(res.body.attention[1]).to.deep.include({ serviceId: w.s.ann.serviceId });
      expect(res.body.attention).to.have.length(2);

      const html = await page();
      expect(html.status).to.equal(200);
      const t = pageText(html.text);
      expect(t).to.include(
        `EUR unavailable (service ${w.s.jan.serviceId} cannot be read) projected overusage at the end of the open periods`,
      );
      expect(t).not.to.include('€2,100.00 projected');
      expect(t).to.include(
        `service ${w.s.jan.serviceId} Unreadable row: mod_overusage_services.last_sampled_at is not a datetime.`,
      );
      expect(html.text).to.include(`<tr data-service="${w.s.ann.serviceId}">`);
      // each read logs Jan once a panel: near-limit and projected (the API, then the page)
      const once = ['mod_overusage_services', w.s.jan.serviceId, 'mod_overusage_services.last_sampled_at'];
      expect(
        w.logged.filter((l) => l.event === 'admin.row_unreadable').map((l) => [l.table, l.id, l.column]),
      ).to.deep.equal([once, once, once, once]);
    });
  },
);
