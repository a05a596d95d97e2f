import { expect } from 'chai';
import { addConfigOptionGroup, addProductGroup, addPromotion } from '../../panel/records.js';
import { describeEachEngine } from '../support/engines.js';
import { requirePhp } from '../bridge/support.js';
import { buildPanel, serveApi, snapshot, type PanelFixture, type ServedApi } from './support.js';
import { phpCall, phpOk } from './php-form.js';

type Row = Record<string, unknown>;

/**
 * AddOrder's configoptions[] and promocode over /includes/api.php, each body built by php-cli:
 * `'configoptions' => [base64_encode(serialize([option id => value]))]` is evaluated by PHP itself
 * (serialize + base64_encode + http_build_query), as developers.whmcs.com/api-reference/addorder/
 * shows it. The product comes from AddProduct over HTTP; its configurable options and the
 * promotions are made as an admin makes them (WHMCS has no API command for either). The clock
 * stands at 10 March 2025, 10:00 in Brussels; no tax. Every figure is worked out by hand below.
 *
 * The VPS: €10.00 a month. Its options: Memory (dropdown: "2 GB" €0.00, "4 GB" €5.00 a month
 * and a €2.00 setup fee), Extra IPv4 (quantity 0–8, €1.50 a month each), Backups (yes/no, €3.00 a
 * month).
 */
describeEachEngine('API over HTTP: AddOrder with configoptions and promocode', ({ db }) => {
  let f: PanelFixture;
  let served: ServedApi;
  let vps: number;
  let client: number;
  let memory: number;
  let ipv4: number;
  let backups: number;
  let gb2: number;
  let gb4: number;

  before(async function () {
    requirePhp(this);
    f = await buildPanel(db().knex, { start: '2025-03-10T09:00:00Z' });
    served = await serveApi(f);
    const gid = await addProductGroup(f.knex, 'VPS');
    vps = Number(
      (
        await phpOk(
          served,
          `['action' => 'AddProduct', 'name' => 'VPS', 'gid' => ${gid}, 'pricing' => [1 => ['monthly' => '10.00']]]`,
        )
      ).pid,
    );
    const group = await addConfigOptionGroup(f.knex, vps, {
      name: 'VPS options',
      options: [
        {
          name: 'Memory',
          type: 1,
          choices: [
            { name: '2 GB', pricing: { EUR: { monthly: '0.00' } } },
            { name: '4|4 GB', pricing: { EUR: { monthly: '5.00', msetupfee: '2.00' } } },
          ],
        },
        {
          name: 'Extra IPv4',
          type: 4,
          qtyminimum: 0,
          qtymaximum: 8,
          choices: [{ name: 'address', pricing: { EUR: { monthly: '1.50' } } }],
        },
        { name: 'Backups', type: 3, choices: [{ name: 'Nightly', pricing: { EUR: { monthly: '3.00' } } }] },
      ],
    });
    [memory, ipv4, backups] = group.optionIds as [number, number, number];
    [gb2, gb4] = group.choiceIds[0] as [number, number];
    const EMILIE = `'firstname' => 'Émilie', 'lastname' => 'Dubois', 'address1' => 'Rue Haute 1', 'city' => 'Bruxelles', 'state' => 'Bruxelles', 'postcode' => '1000', 'country' => 'BE', 'phonenumber' => '+32 2 123 45 67'`;
    client = Number(
      (
        await phpOk(
          served,
          `['action' => 'AddClient', ${EMILIE}, 'email' => 'emilie@example.be', 'noemail' => true]`,
        )
      ).clientid,
    );
    await addPromotion(f.knex, { code: 'SPRING10', type: 'Percentage', value: '10', appliesto: [vps] });
    await addPromotion(f.knex, {
      code: 'LOYAL5',
      type: 'Fixed Amount',
      value: '5.00',
      recurring: true,
      appliesto: [vps],
      cycles: ['Monthly'],
    });
    await addPromotion(f.knex, {
      code: 'WINTER',
      type: 'Percentage',
      value: '20',
      appliesto: [vps],
      expirationdate: '2025-03-09',
    });
    await addPromotion(f.knex, {
      code: 'SUMMER',
      type: 'Percentage',
      value: '20',
      appliesto: [vps],
      startdate: '2025-06-01',
    });
    await addPromotion(f.knex, {
      code: 'ONCE',
      type: 'Fixed Amount',
      value: '1.00',
      appliesto: [vps],
      maxuses: 1,
    });
    await addPromotion(f.knex, { code: 'OTHER', type: 'Percentage', value: '50', appliesto: [vps + 100] });
    await addPromotion(f.knex, {
      code: 'YEARLY',
      type: 'Percentage',
      value: '50',
      appliesto: [vps],
      cycles: ['Annually'],
    });
  });
  after(async () => {
    await served?.close();
  });

  const order = (extra: string) =>
    `['action' => 'AddOrder', 'clientid' => ${client}, 'paymentmethod' => 'banktransfer', 'pid' => [${vps}], 'billingcycle' => ['monthly'], 'noemail' => true, ${extra}]`;
  const invoiceLines = async (id: unknown) =>
    (
      (await phpOk(served, `['action' => 'GetInvoice', 'invoiceid' => ${id}]`)).items as { item: Row[] }
    ).item.map((i) => [i.type, i.description, i.amount]);
  const service = async (id: unknown) =>
    (
      (await phpOk(served, `['action' => 'GetClientsProducts', 'serviceid' => ${id}]`)).products as {
        product: Row[];
      }
    ).product[0]!;

  async function refused(arrayLiteral: string, message: string) {
    const before = await snapshot(f.knex);
    const a = await phpCall(served, arrayLiteral);
    expect(a.status).to.equal(200);
    expect(a.body, arrayLiteral).to.deep.equal({ result: 'error', message });
    expect(await snapshot(f.knex)).to.deep.equal(before);
  }

  it('GetProducts lists the product AddProduct made with its configurable options and their prices', async () => {
    const got = await phpOk(served, `['action' => 'GetProducts', 'pid' => ${vps}]`);
    const options = (
      (got.products as { product: Row[] }).product[0]!.configoptions as { configoption: Row[] }
    ).configoption;
    expect(options.map((o) => [o.id, o.name, o.type, o.minqty, o.maxqty])).to.deep.equal([
      [memory, 'Memory', '1', 0, 0],
      [ipv4, 'Extra IPv4', '4', 0, 8],
      [backups, 'Backups', '3', 0, 0],
    ]);
    const choices = (options[0]!.options as { option: Row[] }).option;
    // "4|4 GB" shows its label; the raw name stays in rawName
    expect(
      choices.map((c) => [
        c.id,
        c.name,
        c.rawName,
        (c.pricing as Record<string, Row>).EUR!.monthly,
        (c.pricing as Record<string, Row>).EUR!.msetupfee,
      ]),
    ).to.deep.equal([
      [gb2, '2 GB', '2 GB', '0.00', '0.00'],
      [gb4, '4 GB', '4|4 GB', '5.00', '2.00'],
    ]);
  });

  it('€10.00 product + €5.00 option (+ €2.00 option setup) with a 10 % one-time promotion: €13.50 + €2.00 on the first invoice, €15.00 a month after', async () => {
    const placed = await phpOk(
      served,
      order(
        `'domain' => ['vps.dubois.be'], 'configoptions' => [base64_encode(serialize([${memory} => ${gb4}]))], 'promocode' => 'spring10'`,
      ),
    );
    // the hosting line: 10.00 + 5.00 = 15.00; the setup fee 2.00; 10 % of 15.00 = 1.50 off (the setup fee is not discounted)
    expect(await invoiceLines(placed.invoiceid)).to.deep.equal([
      [
        'Hosting',
        'VPS - vps.dubois.be (10/03/2025 - 09/04/2025)\nMemory: 4 GB\nExtra IPv4: 0 x address\nBackups: No',
        '15.00',
      ],
      ['Setup', 'VPS - Setup Fee', '2.00'],
      ['PromoHosting', 'Promotional Code: SPRING10 - 10.00% One Time Discount', '-1.50'],
    ]);
    // 15.00 + 2.00 − 1.50 = 15.50
    expect(await phpOk(served, `['action' => 'GetInvoice', 'invoiceid' => ${placed.invoiceid}]`)).to.include({
      subtotal: '15.50',
      total: '15.50',
      balance: '15.50',
    });
    const svc = await service(placed.serviceids);
    // one-time: the renewals are the full 15.00; the first payment 15.50
    expect(svc).to.include({ recurringamount: '15.00', firstpaymentamount: '15.50' });
    expect((svc.configoptions as { configoption: Row[] }).configoption).to.deep.equal([
      { id: String(memory), option: 'Memory', type: 'dropdown', value: '4 GB' },
      { id: String(ipv4), option: 'Extra IPv4', type: 'quantity', value: '0' },
      { id: String(backups), option: 'Backups', type: 'yesno', value: '0' },
    ]);
    const row = await f.knex('tblorders').where({ id: placed.orderid }).first();
    expect(row).to.include({
      promocode: 'SPRING10',
      promotype: 'Percentage',
      promovalue: '10.00',
      amount: '15.50',
    });
    const promo = (
      (await phpOk(served, `['action' => 'GetPromotions', 'code' => 'SPRING10']`)).promotions as {
        promotion: Row[];
      }
    ).promotion;
    expect(promo).to.have.length(1);
    expect(promo[0]).to.include({
      code: 'SPRING10',
      type: 'Percentage',
      recurring: 0,
      value: '10.00',
      uses: 1,
      maxuses: 0,
      expirationdate: '0000-00-00',
    });
  });

  it('quantity and yes/no options with a recurring €5.00 promotion: €12.50 now and every month', async () => {
    const placed = await phpOk(
      served,
      order(
        `'configoptions' => [base64_encode(serialize([${memory} => ${gb2}, ${ipv4} => 3, ${backups} => 1]))], 'promocode' => 'LOYAL5'`,
      ),
    );
    // 10.00 + 2 GB 0.00 + 3 × 1.50 = 4.50 + backups 3.00 = 17.50; 5.00 off → 12.50
    expect(await invoiceLines(placed.invoiceid)).to.deep.equal([
      [
        'Hosting',
        'VPS (10/03/2025 - 09/04/2025)\nMemory: 2 GB\nExtra IPv4: 3 x address\nBackups: Yes',
        '17.50',
      ],
      ['PromoHosting', 'Promotional Code: LOYAL5 - 5.00 Recurring Discount', '-5.00'],
    ]);
    expect(await phpOk(served, `['action' => 'GetInvoice', 'invoiceid' => ${placed.invoiceid}]`)).to.include({
      total: '12.50',
    });
    const svc = await service(placed.serviceids);
    // recurring: the service renews at 17.50 − 5.00 = 12.50
    expect(svc).to.include({
      recurringamount: '12.50',
      firstpaymentamount: '12.50',
      promoid: String((await f.knex('tblpromotions').where({ code: 'LOYAL5' }).first('id')).id),
    });
    expect((svc.configoptions as { configoption: Row[] }).configoption.map((o) => o.value)).to.deep.equal([
      '2 GB',
      '3',
      '1',
    ]);
    // paid, the service is next due 10 April; on 1 April (14 days before, the default) the renewal bills 12.50 again
    await phpOk(served, `['action' => 'AcceptOrder', 'orderid' => ${placed.orderid}, 'autosetup' => true]`);
    await phpOk(
      served,
      `['action' => 'AddInvoicePayment', 'invoiceid' => ${placed.invoiceid}, 'transid' => 'BANK-LOYAL5', 'gateway' => 'banktransfer', 'noemail' => true]`,
    );
    f.clock.set('2025-04-01T08:00:00Z');
    try {
      const gen = await phpOk(
        served,
        `['action' => 'GenInvoices', 'serviceids' => [${placed.serviceids}], 'noemails' => true]`,
      );
      expect(gen).to.include({ numcreated: '1' });
      const renewal = await f
        .knex('tblinvoiceitems')
        .where({ relid: Number(placed.serviceids) })
        .whereNot({ invoiceid: Number(placed.invoiceid) })
        .select('type', 'amount');
      expect(renewal.map((r) => [r.type, r.amount])).to.deep.equal([['Hosting', '12.50']]);
    } finally {
      f.clock.set('2025-03-10T09:00:00Z');
    }
  });

  it("without configoptions the order form's defaults: the first choice, no extra, no backups → €10.00", async () => {
    const placed = await phpOk(served, order(`'promocode' => ''`));
    expect(await invoiceLines(placed.invoiceid)).to.deep.equal([
      [
        'Hosting',
        'VPS (10/03/2025 - 09/04/2025)\nMemory: 2 GB\nExtra IPv4: 0 x address\nBackups: No',
        '10.00',
      ],
    ]);
  });

  it('a hidden option (not on the order form) is left out unless the order names it', async () => {
    // an admin hides Backups: an order that does not name it gets no Backups line and no price for it
    await f.knex('tblproductconfigoptions').where({ id: backups }).update({ hidden: 1 });
    try {
      const plain = await phpOk(served, order(`'promocode' => ''`));
      expect(await invoiceLines(plain.invoiceid)).to.deep.equal([
        ['Hosting', 'VPS (10/03/2025 - 09/04/2025)\nMemory: 2 GB\nExtra IPv4: 0 x address', '10.00'],
      ]);
      // named, it is taken and priced: 10.00 + 3.00 = 13.00
      const named = await phpOk(
        served,
        order(`'configoptions' => [base64_encode(serialize([${backups} => 1]))]`),
      );
      expect(await invoiceLines(named.invoiceid)).to.deep.equal([
        [
          'Hosting',
          'VPS (10/03/2025 - 09/04/2025)\nMemory: 2 GB\nExtra IPv4: 0 x address\nBackups: Yes',
          '13.00',
        ],
      ]);
    } finally {
      await f.knex('tblproductconfigoptions').where({ id: backups }).update({ hidden: 0 });
    }
  });

  it('a one-use code is used once; promooverride applies a code to a product it does not list', async () => {
    const first = await phpOk(served, order(`'promocode' => 'ONCE'`));
    // 10.00 − 1.00 = 9.00
    expect(await phpOk(served, `['action' => 'GetInvoice', 'invoiceid' => ${first.invoiceid}]`)).to.include({
      total: '9.00',
    });
    await refused(
      order(`'promocode' => 'ONCE'`),
      'The promotion code entered has reached its maximum number of uses',
    );
    const forced = await phpOk(served, order(`'promocode' => 'OTHER', 'promooverride' => true`));
    // 50 % of 10.00 = 5.00
    expect(await phpOk(served, `['action' => 'GetInvoice', 'invoiceid' => ${forced.invoiceid}]`)).to.include({
      total: '5.00',
    });
  });

  it('refuses unknown, expired, future and non-applicable codes and bad options, writing nothing', async () => {
    await refused(order(`'promocode' => 'NOSUCH'`), 'The promotion code entered does not exist');
    await refused(order(`'promocode' => 'WINTER'`), 'The promotion code entered has expired');
    await refused(order(`'promocode' => 'SUMMER'`), 'The promotion code entered is not valid yet');
    await refused(
      order(`'promocode' => 'OTHER'`),
      'The promotion code entered does not apply to any item in this order',
    );
    // YEARLY is for annual cycles only; the order is monthly
    await refused(
      order(`'promocode' => 'YEARLY'`),
      'The promotion code entered does not apply to any item in this order',
    );
    await refused(
      order(`'configoptions' => ['not base64!']`),
      'Invalid configoptions: a base64 encoded serialized array is expected',
    );
    await refused(
      order(`'configoptions' => [base64_encode(serialize([${memory} => ${gb4 + 100}]))]`),
      `Invalid configoptions: Memory has no choice ${gb4 + 100}`,
    );
    await refused(
      order(`'configoptions' => [base64_encode(serialize([${ipv4} => 9]))]`),
      'Invalid configoptions: Extra IPv4 takes a quantity from 0 to 8, not 9',
    );
  });
});
