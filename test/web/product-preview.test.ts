import { expect } from 'chai';
import { describeEachEngine } from '../support/engines.js';
import { logInto } from '../support/log-lines.js';
import { ADMIN, buildWebStory, login, type Agent, type WebStory } from '../support/web-story.js';

/**
 * The product form's preview: what each service's last closed period would have cost under the
 * settings being edited, nothing saved. The seed story's product "VPS 5 TB" bills per GB over
 * 5 TB at €0.50: in May Ann used 6 000 GB (€500.00 now) and Jan 5 500 GB (€250.00 now).
 */
const tab = '/admin/addonmodules.php?module=overusage';
const decode = (html: string) =>
  html
    .replace(/&#39;/g, "'")
    .replace(/&#34;|&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
const textOf = (html: string) => decode(html.replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ');

/** the product form's fields as the page fills them: text inputs, ticked checkboxes, selected options */
function formValues(html: string): Record<string, string> {
  const form = /<form method="post"[^>]*>([\s\S]*?)<\/form>/.exec(
    html.slice(html.indexOf('data-product-form')),
  )![1]!;
  const out: Record<string, string> = {};
  for (const m of form.matchAll(/<input([^>]*)>/g)) {
    const a = m[1]!;
    const name = /name="([^"]+)"/.exec(a)?.[1];
    if (!name || name === 'token') continue;
    if (/type="checkbox"/.test(a)) {
      if (/ checked/.test(a)) out[name] = 'on';
    } else out[name] = decode(/value="([^"]*)"/.exec(a)?.[1] ?? '');
  }
  for (const m of form.matchAll(/<select[^>]*name="([^"]+)"[^>]*>([\s\S]*?)<\/select>/g)) {
    const chosen = /<option value="([^"]*)" selected|<option selected>([^<]*)</.exec(m[2]!);
    out[m[1]!] = chosen ? decode(chosen[1] ?? chosen[2] ?? '') : '';
  }
  return out;
}

/** the preview's rows: service id → [now, under these settings] */
const previewRows = (html: string) =>
  Object.fromEntries(
    [...html.matchAll(/<tr data-preview-service="(\d+)">([\s\S]*?)<\/tr>/g)].map((m) => {
      const cells = [...m[2]!.matchAll(/<td class="ou-num text-right">([\s\S]*?)<\/td>/g)].map((c) =>
        textOf(c[1]!).trim(),
      );
      return [Number(m[1]), cells];
    }),
  );

describeEachEngine('the product form previews last period under the edited settings', ({ db }) => {
  let s: WebStory;
  let agent: Agent;
  let token = '';
  let logged: Array<Record<string, unknown>> = [];
  beforeEach(async function () {
    this.timeout(30_000);
    logged = [];
    s = await buildWebStory(db().knex, { log: logInto(logged) });
    ({ agent, token } = await login(s.app, ADMIN));
  });

  const preview = async (changes: Record<string, string>) => {
    const page = await agent.get(`${tab}&a=product&id=${s.story.productId}`).expect(200);
    const form = { ...formValues(page.text), ...changes };
    return agent
      .post(`${tab}&a=product&id=${s.story.productId}`)
      .type('form')
      .send({ ...form, token, preview: '1' })
      .expect(200);
  };

  it('rates May again at 5.5 TB and €0.40 per GB: €200.00 against €750.00, nothing saved', async () => {
    const before = await db()
      .knex('mod_overusage_billing_profiles')
      .where({ product_id: s.story.productId })
      .first('settings');
    // Ann: 6 000 − 5 500 = 500 GB × €0.40 = €200.00; Jan: 5 500 GB, all within → €0.00
    const res = await preview({ allowance: '5.5', allowance_unit: 'TB', overage_1: '0.40' });
    const t = textOf(res.text);
    expect(t).to.include('Last period under these settings (not saved)');
    expect(t).to.include('In EUR: €200.00 under these settings, against €750.00 now.');
    expect(previewRows(res.text)).to.deep.equal({
      [s.ann.serviceId]: ['6,000.00 GB', '€500.00', '€200.00 (billed)'],
      [s.jan.serviceId]: ['5,500.00 GB', '€250.00', '€0.00 (within the allowance)'],
    });
    // the rows name the service and the client; the form keeps what was typed
    expect(t).to.include('vps1.example.net');
    expect(t).to.include('Ann Admin');
    expect(res.text).to.match(/name="overage_1" value="0\.40"/);
    // nothing saved, nothing audited
    expect(
      await db()
        .knex('mod_overusage_billing_profiles')
        .where({ product_id: s.story.productId })
        .first('settings'),
    ).to.deep.equal(before);
    expect(
      await db()
        .knex('mod_overusage_audit')
        .where({ action: 'billing.product_set' })
        .count({ n: '*' })
        .first()
        .then((r) => Number(r!.n)),
    ).to.equal(1);
  });

  it('rates blocks of 100 GB at €30.00 with a €200.00 minimum: Ann €300.00, Jan written off', async () => {
    // Ann: 1 000 GB over → 10 blocks × €30.00 = €300.00; Jan: 500 GB → 5 blocks = €150.00 < €200.00 → written off, bills €0.00
    const res = await preview({
      model: 'per_block',
      block_units: '100',
      overage_1: '30.00',
      minimum_1: '200.00',
    });
    expect(previewRows(res.text)).to.deep.equal({
      [s.ann.serviceId]: ['6,000.00 GB', '€500.00', '€300.00 (billed)'],
      [s.jan.serviceId]: ['5,500.00 GB', '€250.00', '€0.00 (under the minimum: written off)'],
    });
    expect(textOf(res.text)).to.include('In EUR: €300.00 under these settings, against €750.00 now.');
  });

  it('rates May at the 95th percentile from the imported five-minute rates, and says why a service without them cannot be', async () => {
    // Ann has one five-minute rate in May, 100 000 000 bit/s = 100 Mbit/s: its 95th percentile is that sample
    // (1 sample, drop floor(1 / 20) = 0). Over a 50 Mbit/s commit: 50 Mbit/s × €2.00 = €100.00. Jan has none.
    await db()
      .knex('mod_overusage_rate_samples')
      .insert({ service_id: s.ann.serviceId, slot_at: '2013-05-15 12:00:00.000', bps: '100000000' });
    const res = await preview({ model: 'p95', commit_mbps: '50', overage_1: '2.00', tolerance: '0' });
    expect(previewRows(res.text)).to.deep.equal({
      [s.ann.serviceId]: ['6,000.00 GB', '€500.00', '€100.00 (billed)'],
      [s.jan.serviceId]: [
        '5,500.00 GB',
        '€250.00',
        'not rated: the 95th percentile needs 5-minute samples, and this period has none',
      ],
    });
    // the totals count the rows that could be rated: Ann's €500.00 now against €100.00
    expect(textOf(res.text)).to.include('In EUR: €100.00 under these settings, against €500.00 now.');
  });

  it("previews Jan's May when Ann's charge cannot be read: Ann's row named, in no total, and logged with why", async () => {
    // Ann's May charge gets a status outside its set by hand. Before: the preview failed for the
    // whole product. Now Jan: 5 500 − 5 000 = 500 GB × €0.50 = €250.00 now and under the same
    // settings; the total is Jan's alone (€250.00, not €750.00: Ann's €500.00 is not known, never €0.00)
    await db()
      .knex('mod_overusage_charges')
      .where({ service_id: s.ann.serviceId })
      .update({ status: 'paid' });
    logged.length = 0;
    const res = await preview({});
    const t = textOf(res.text);
    expect(previewRows(res.text)).to.deep.equal({
      [s.jan.serviceId]: ['5,500.00 GB', '€250.00', '€250.00 (billed)'],
    });
    expect(t).to.include('In EUR: €250.00 under these settings, against €250.00 now.');
    const period = Number(
      (await db().knex('mod_overusage_charges').where({ service_id: s.ann.serviceId }).first('period_id'))
        .period_id,
    );
    const reason =
      'not one of unbilled, billed, written_off, within_allowance, not_billed, pooled, void, review';
    expect(res.text).to.include(
      `<tr data-preview-service="${s.ann.serviceId}" data-unreadable data-column="mod_overusage_charges.status" class="danger">`,
    );
    expect(t).to.include(
      `vps1.example.net · VPS 5 TB #${s.ann.serviceId} Its last closed period (${period}) cannot be read: mod_overusage_charges.status is ${reason}. It is counted in no total here`,
    );
    expect(t).not.to.include('paid');
    const told = logged.filter((l) => l.event === 'admin.row_unreadable');
    expect(told.map((l) => [l.level, l.table, l.id, l.column, l.reason])).to.deep.equal([
      ['warn', 'mod_overusage_periods', period, 'mod_overusage_charges.status', reason],
    ]);
    expect(JSON.stringify(logged)).not.to.include('"paid"');
  });

  it('refuses a field as saving would, beside the field, and previews nothing', async () => {
    const res = await preview({ overage_1: 'cheap' });
    expect(textOf(res.text)).to.include('Not previewed: one field needs a change (marked below).');
    expect(res.text).to.match(/data-error-for="overage_1"/);
    expect(res.text).not.to.include('data-preview');
  });
});
