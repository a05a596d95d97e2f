import { expect } from 'chai';
import { addProductGroup } from '../../panel/records.js';
import { verifyClientPassword } from '../../panel/web/passwords.js';
import { describeEachEngine } from '../support/engines.js';
import { requirePhp } from '../bridge/support.js';
import { buildPanel, serveApi, snapshot, type PanelFixture, type ServedApi } from './support.js';
import { phpCall, phpOk } from './php-form.js';

type Row = Record<string, unknown>;

/**
 * AddClient, AddProduct, AddOrder and AcceptOrder over /includes/api.php on 127.0.0.1, each
 * body built by php-cli's http_build_query (arrays as pid[0]=…&pid[1]=…), as WHMCS's scripts send
 * them. The clock stands at 10 March 2025, 10:00 in Brussels; tax is on, 21 % for Belgium (the
 * admin's Setup › Tax Configuration). Every figure is worked out by hand in the comments.
 */
describeEachEngine('API over HTTP: AddClient, AddProduct, AddOrder, AcceptOrder', ({ db }) => {
  let f: PanelFixture;
  let served: ServedApi;
  let gid: number;
  let vps: number;
  let backup: number;

  before(async function () {
    requirePhp(this);
    f = await buildPanel(db().knex, { start: '2025-03-10T09:00:00Z' });
    served = await serveApi(f);
    await f.setting('TaxEnabled', 'on');
    await f.knex('tbltax').insert({ level: 1, name: 'BTW', country: 'BE', taxrate: '21.000' });
    // WHMCS has no API command for product groups: the admin makes one in Setup › Products
    gid = await addProductGroup(f.knex, 'VPS');
  });
  after(async () => {
    await served?.close();
  });

  async function refused(arrayLiteral: string, message: string) {
    const before = await snapshot(f.knex);
    const a = await phpCall(served, arrayLiteral);
    expect(a.status).to.equal(200);
    expect(a.body, arrayLiteral).to.deep.equal({ result: 'error', message });
    expect(await snapshot(f.knex)).to.deep.equal(before);
  }

  const EMILIE = `'firstname' => 'Émilie', 'lastname' => 'Dubois', 'companyname' => 'Dubois & Fils', 'address1' => 'Rue Haute 1', 'city' => 'Bruxelles', 'state' => 'Bruxelles', 'postcode' => '1000', 'country' => 'be', 'phonenumber' => '+32 2 123 45 67'`;

  describe('AddClient', () => {
    it('adds a client with her address, login password and currency, and sends the signup email', async () => {
      const added = await phpOk(
        served,
        `['action' => 'AddClient', ${EMILIE}, 'email' => 'emilie@example.be', 'password2' => 's3cret pass', 'language' => 'French', 'currency' => 1, 'clientip' => '192.0.2.7']`,
      );
      expect(added).to.deep.equal({ result: 'success', clientid: '1' });
      const got = await phpOk(served, `['action' => 'GetClientsDetails', 'clientid' => 1]`);
      expect(got.client).to.include({
        firstname: 'Émilie',
        lastname: 'Dubois',
        companyname: 'Dubois & Fils',
        email: 'emilie@example.be',
        address1: 'Rue Haute 1',
        city: 'Bruxelles',
        postcode: '1000',
        country: 'BE',
        phonenumber: '+32 2 123 45 67',
        credit: '0.00',
        language: 'french',
      });
      const row = await f.knex('tblclients').where({ id: 1 }).first();
      // the password is stored as the client area's hash, never as sent
      expect(row.password).to.match(/^scrypt\$/);
      expect(await verifyClientPassword(row.password, 's3cret pass')).to.equal(true);
      expect(row.datecreated).to.satisfy((d: unknown) => String(d).startsWith('2025-03-10'));
      const mails = await f.knex('tblemails').where({ userid: 1 }).select('subject');
      expect(mails.map((m) => m.subject)).to.deep.equal(['Welcome']);
      const log = await f.knex('tblactivitylog').where({ userid: 1 }).orderBy('id').first();
      expect(log).to.include({
        description: 'Created Client Émilie Dubois - User ID: 1',
        ipaddr: '192.0.2.7',
      });
    });

    it("refuses missing or bad fields, a second client with the same address (any case) and an unknown currency, with WHMCS's messages", async () => {
      await refused(
        `['action' => 'AddClient', 'firstname' => 'Jan', 'email' => 'jan@example.be']`,
        'You did not enter your last name',
      );
      await refused(
        `['action' => 'AddClient', ${EMILIE}, 'email' => 'not-an-address']`,
        'The email address you entered was not valid',
      );
      await refused(
        `['action' => 'AddClient', ${EMILIE}, 'email' => '']`,
        'You did not enter your email address',
      );
      await refused(
        `['action' => 'AddClient', ${EMILIE}, 'email' => 'EMILIE@Example.be']`,
        'A client already exists with that email address',
      );
      await refused(
        `['action' => 'AddClient', ${EMILIE.replace("'address1' => 'Rue Haute 1', ", '')}, 'email' => 'other@example.be']`,
        'You did not enter your  address line 1',
      );
      await refused(
        `['action' => 'AddClient', ${EMILIE}, 'email' => 'other@example.be', 'phonenumber' => 'call me']`,
        'Invalid telephone phone number',
      );
      await refused(
        `['action' => 'AddClient', ${EMILIE}, 'email' => 'other@example.be', 'currency' => 99]`,
        'Invalid currency ID',
      );
    });

    it('with skipvalidation needs only the email address; noemail sends nothing', async () => {
      const added = await phpOk(
        served,
        `['action' => 'AddClient', 'firstname' => 'Piet', 'email' => 'piet@example.nl', 'skipvalidation' => true, 'noemail' => true, 'currency' => 2]`,
      );
      expect(added).to.deep.equal({ result: 'success', clientid: '2' });
      expect(await f.knex('tblemails').where({ userid: 2 }).count({ n: '*' })).to.satisfy(
        (r: Row[]) => Number(r[0]!.n) === 0,
      );
      const got = await phpOk(served, `['action' => 'GetClientsDetails', 'clientid' => 2]`);
      expect(got.client).to.include({ firstname: 'Piet', lastname: '', currency: '2' });
    });
  });

  describe('AddProduct', () => {
    it('adds a product with its module, options and prices per currency; cycles left out are not offered', async () => {
      const added = await phpOk(
        served,
        `['action' => 'AddProduct', 'name' => 'VPS 2 TB', 'gid' => ${gid}, 'type' => 'server', 'paytype' => 'recurring', 'tax' => true, 'module' => 'solusvmpro', 'configoption1' => 'plan-2tb', 'description' => 'Two terabytes', 'pricing' => [1 => ['monthly' => 12.5, 'msetupfee' => 5, 'annually' => 125.00], 2 => ['monthly' => '14.00']]]`,
      );
      vps = Number(added.pid);
      expect(added).to.deep.equal({ result: 'success', pid: 1 });
      const p = await f.knex('tblproducts').where({ id: vps }).first();
      expect(p).to.include({
        name: 'VPS 2 TB',
        type: 'server',
        paytype: 'recurring',
        servertype: 'solusvmpro',
        configoption1: 'plan-2tb',
        description: 'Two terabytes',
      });
      expect(Number(p.gid)).to.equal(gid);
      expect(Number(p.tax)).to.equal(1);
      const prices = await f
        .knex('tblpricing')
        .where({ relid: vps })
        .orderBy('currency')
        .select('currency', 'monthly', 'msetupfee', 'quarterly', 'qsetupfee', 'annually');
      // PHP sends 12.5 as "12.5" and 125.00 as "125"; the panel keeps two decimals
      expect(
        prices.map((r) => [Number(r.currency), r.monthly, r.msetupfee, r.quarterly, r.qsetupfee, r.annually]),
      ).to.deep.equal([
        [1, '12.50', '5.00', '-1.00', '0.00', '125.00'],
        [2, '14.00', '0.00', '-1.00', '0.00', '-1.00'],
      ]);
      const second = await phpOk(
        served,
        `['action' => 'AddProduct', 'name' => 'Backup', 'gid' => ${gid}, 'pricing' => [1 => ['monthly' => '2.00', 'annually' => '20.00']]]`,
      );
      backup = Number(second.pid);
      // the defaults: type other, paytype recurring, no tax
      expect(await f.knex('tblproducts').where({ id: backup }).first('type', 'paytype', 'tax')).to.satisfy(
        (r: Row) => r.type === 'other' && r.paytype === 'recurring' && Number(r.tax) === 0,
      );
    });

    it('refuses what WHMCS refuses, in its words, and a price it cannot store, writing nothing', async () => {
      await refused(
        `['action' => 'AddProduct', 'name' => '', 'gid' => ${gid}]`,
        'You must supply a name for the product',
      );
      await refused(
        `['action' => 'AddProduct', 'name' => 'X', 'gid' => 99]`,
        'You must supply a valid Product Group ID',
      );
      await refused(`['action' => 'AddProduct', 'name' => 'X']`, 'You must supply a valid Product Group ID');
      await refused(
        `['action' => 'AddProduct', 'name' => 'X', 'gid' => ${gid}, 'type' => 'vps']`,
        'Invalid product type. Must be one of "hostingaccount", "reselleraccount", "server" or "other"',
      );
      await refused(
        `['action' => 'AddProduct', 'name' => 'X', 'gid' => ${gid}, 'paytype' => 'monthly']`,
        'Invalid pay type. Must be one of "free", "onetime" or "recurring"',
      );
      await refused(
        `['action' => 'AddProduct', 'name' => 'X', 'gid' => ${gid}, 'autosetup' => 'always']`,
        'Invalid autosetup value. Must be one of "", "on", "order" or "payment"',
      );
      await refused(
        `['action' => 'AddProduct', 'name' => 'X', 'gid' => ${gid}, 'welcomeemail' => 999]`,
        'You must supply a valid welcome email ID',
      );
      await refused(
        `['action' => 'AddProduct', 'name' => 'X', 'gid' => ${gid}, 'pricing' => [1 => ['monthly' => 'cheap']]]`,
        'Amount must be in decimal format: ### or ###.##',
      );
      await refused(
        `['action' => 'AddProduct', 'name' => 'X', 'gid' => ${gid}, 'pricing' => [1 => ['monthly' => '-2.00']]]`,
        'Amount must not be negative',
      );
      const bad = await phpCall(
        served,
        `['action' => 'AddProduct', 'name' => 'X', 'gid' => ${gid}, 'pricing' => [9 => ['monthly' => '1.00']]]`,
      );
      expect(bad.body.message).to.match(/^Invalid pricing\[9\]/);
      const cycle = await phpCall(
        served,
        `['action' => 'AddProduct', 'name' => 'X', 'gid' => ${gid}, 'pricing' => [1 => ['weekly' => '1.00']]]`,
      );
      expect(cycle.body.message).to.match(/^Invalid pricing\[1\]\[weekly\]/);
      expect(await f.knex('tblproducts').count({ n: '*' })).to.satisfy((r: Row[]) => Number(r[0]!.n) === 2);
    });
  });

  describe('AddOrder and AcceptOrder', () => {
    it('orders two products: pending services, one order, the first invoice with the setup fee and tax', async () => {
      const placed = await phpOk(
        served,
        `['action' => 'AddOrder', 'clientid' => 1, 'paymentmethod' => 'banktransfer', 'pid' => [${vps}, ${backup}], 'billingcycle' => ['monthly', 'annually'], 'domain' => ['vps.dubois.be', 'backup.dubois.be'], 'noemail' => true, 'clientip' => '192.0.2.7']`,
      );
      expect(placed).to.deep.equal({
        result: 'success',
        orderid: '1',
        serviceids: '1,2',
        addonids: '',
        domainids: '',
        invoiceid: '1',
      });
      const inv = await phpOk(served, `['action' => 'GetInvoice', 'invoiceid' => 1]`);
      // 12.50 + 5.00 setup + 20.00 = 37.50; tax 21 % of the taxed 17.50 = 3.675 → 3.68; total 41.18; due today
      expect(inv).to.include({
        userid: '1',
        status: 'Unpaid',
        date: '2025-03-10',
        duedate: '2025-03-10',
        subtotal: '37.50',
        tax: '3.68',
        total: '41.18',
        balance: '41.18',
        paymentmethod: 'banktransfer',
      });
      const items = (inv.items as { item: Row[] }).item.map((i) => [
        i.type,
        i.relid,
        i.description,
        i.amount,
      ]);
      expect(items).to.deep.equal([
        ['Hosting', '1', 'VPS 2 TB - vps.dubois.be (10/03/2025 - 09/04/2025)', '12.50'],
        ['Setup', '1', 'VPS 2 TB - Setup Fee', '5.00'],
        ['Hosting', '2', 'Backup - backup.dubois.be (10/03/2025 - 09/03/2026)', '20.00'],
      ]);
      const svcs = await phpOk(served, `['action' => 'GetClientsProducts', 'clientid' => 1]`);
      const list = (svcs.products as { product: Row[] }).product.map((s) => [
        s.id,
        s.orderid,
        s.pid,
        s.status,
        s.regdate,
        s.nextduedate,
        s.billingcycle,
        s.firstpaymentamount,
        s.recurringamount,
        s.domain,
      ]);
      expect(list).to.deep.equal([
        [
          '1',
          '1',
          String(vps),
          'Pending',
          '2025-03-10',
          '2025-03-10',
          'Monthly',
          '17.50',
          '12.50',
          'vps.dubois.be',
        ],
        [
          '2',
          '1',
          String(backup),
          'Pending',
          '2025-03-10',
          '2025-03-10',
          'Annually',
          '20.00',
          '20.00',
          'backup.dubois.be',
        ],
      ]);
      const order = await f.knex('tblorders').where({ id: 1 }).first();
      expect(order).to.include({
        status: 'Pending',
        paymentmethod: 'banktransfer',
        ipaddress: '192.0.2.7',
        amount: '37.50',
      });
      expect(String(order.ordernum)).to.match(/^\d{10}$/);
      // the invoice was announced: one "Invoice Created" to Émilie
      expect(
        (await f.knex('tblemails').where({ userid: 1 }).select('subject')).map((m) => m.subject),
      ).to.deep.equal(['Welcome', 'Customer Invoice']);
    });

    it("refuses bad orders with WHMCS's messages, writing no order, service or invoice", async () => {
      await refused(
        `['action' => 'AddOrder', 'clientid' => 99, 'paymentmethod' => 'banktransfer', 'pid' => [${vps}]]`,
        'Client ID Not Found',
      );
      await refused(
        `['action' => 'AddOrder', 'clientid' => 1, 'paymentmethod' => 'bitcoin', 'pid' => [${vps}]]`,
        'Invalid Payment Method. Valid options include banktransfer,mailin,paypal',
      );
      await refused(
        `['action' => 'AddOrder', 'clientid' => 1, 'paymentmethod' => 'banktransfer']`,
        'No items added to cart so order cannot proceed',
      );
      // the first product is fine, the second does not exist: nothing of the first is written either
      await refused(
        `['action' => 'AddOrder', 'clientid' => 1, 'paymentmethod' => 'banktransfer', 'pid' => [${vps}, 99]]`,
        'Product ID Not Found: 99',
      );
      await refused(
        `['action' => 'AddOrder', 'clientid' => 1, 'paymentmethod' => 'banktransfer', 'pid' => [${vps}], 'billingcycle' => ['weekly']]`,
        'Invalid billing cycle weekly',
      );
      await refused(
        `['action' => 'AddOrder', 'clientid' => 1, 'paymentmethod' => 'banktransfer', 'pid' => [${vps}], 'billingcycle' => ['quarterly']]`,
        'VPS 2 TB has no quarterly price in EUR: give priceoverride[] or another billingcycle[]',
      );
      await refused(
        `['action' => 'AddOrder', 'clientid' => 1, 'paymentmethod' => 'banktransfer', 'pid' => [${vps}], 'domaintype' => 'register']`,
        "Expecting parameter 'domaintype' to be an array",
      );
      await refused(
        `['action' => 'AddOrder', 'clientid' => 1, 'paymentmethod' => 'banktransfer', 'pid' => [${vps}], 'qty' => [0]]`,
        'Invalid qty: a whole number is required',
      );
      await f.knex('tblclients').where({ id: 2 }).update({ status: 'Closed' });
      try {
        await refused(
          `['action' => 'AddOrder', 'clientid' => 2, 'paymentmethod' => 'banktransfer', 'pid' => [${backup}]]`,
          'Unable to add order when client status is Closed',
        );
      } finally {
        await f.knex('tblclients').where({ id: 2 }).update({ status: 'Active' });
      }
    });

    it('takes a single pid and a price override; noinvoice makes no invoice', async () => {
      const placed = await phpOk(
        served,
        `['action' => 'AddOrder', 'clientid' => 1, 'paymentmethod' => 'mailin', 'pid' => ${backup}, 'priceoverride' => 1.5, 'noinvoice' => true, 'noemail' => true]`,
      );
      expect(placed).to.deep.equal({
        result: 'success',
        orderid: '2',
        serviceids: '3',
        addonids: '',
        domainids: '',
        invoiceid: '0',
      });
      const svc = await phpOk(served, `['action' => 'GetClientsProducts', 'serviceid' => 3]`);
      // the backup's default cycle is monthly; the override replaces the 2.00 price
      expect((svc.products as { product: Row[] }).product[0]).to.include({
        billingcycle: 'Monthly',
        recurringamount: '1.50',
        firstpaymentamount: '1.50',
        status: 'Pending',
        paymentmethod: 'mailin',
      });
    });

    it('accepts an order once: with autosetup its services become Active; paying the invoice renews them', async () => {
      await refused(
        `['action' => 'AcceptOrder', 'orderid' => 1, 'serverid' => 99, 'autosetup' => true]`,
        'Server ID Not Found',
      );
      expect(
        await phpOk(served, `['action' => 'AcceptOrder', 'orderid' => 1, 'autosetup' => true]`),
      ).to.deep.equal({ result: 'success' });
      const statuses = async () =>
        (
          (await phpOk(served, `['action' => 'GetClientsProducts', 'clientid' => 1]`)).products as {
            product: Row[];
          }
        ).product.map((s) => [s.id, s.status, s.nextduedate]);
      expect(await statuses()).to.deep.equal([
        ['1', 'Active', '2025-03-10'],
        ['2', 'Active', '2025-03-10'],
        ['3', 'Pending', '2025-03-10'],
      ]);
      await refused(
        `['action' => 'AcceptOrder', 'orderid' => 1]`,
        'Order ID not found or Status not Pending',
      );
      await refused(
        `['action' => 'AcceptOrder', 'orderid' => 99]`,
        'Order ID not found or Status not Pending',
      );
      // without autosetup the order is Active but its service stays Pending for the admin to set up
      await phpOk(served, `['action' => 'AcceptOrder', 'orderid' => 2]`);
      expect((await statuses())[2]).to.deep.equal(['3', 'Pending', '2025-03-10']);
      // the order invoice already bills today's period: the renewal run makes no second invoice
      expect(await phpOk(served, `['action' => 'GenInvoices', 'clientid' => 1]`)).to.include({
        numcreated: '0',
      });
      await phpOk(
        served,
        `['action' => 'AddInvoicePayment', 'invoiceid' => 1, 'transid' => 'BANK-1', 'gateway' => 'banktransfer', 'noemail' => true]`,
      );
      // paid: the VPS is next due a month on, the backup a year on
      expect(await statuses()).to.deep.equal([
        ['1', 'Active', '2025-04-10'],
        ['2', 'Active', '2026-03-10'],
        ['3', 'Pending', '2025-03-10'],
      ]);
    });
  });
  describe("AddOrder and the client's credit", () => {
    it('the order invoice takes the credit like every new invoice (audited), unless NoAutoApplyCredit is ticked', async () => {
      const c = Number(
        (
          await phpOk(
            served,
            `['action' => 'AddClient', ${EMILIE}, 'email' => 'credit@example.be', 'noemail' => true]`,
          )
        ).clientid,
      );
      const creditOf = async () =>
        ((await phpOk(served, `['action' => 'GetClientsDetails', 'clientid' => ${c}]`)).client as Row).credit;
      const order = async () => {
        const placed = await phpOk(
          served,
          `['action' => 'AddOrder', 'clientid' => ${c}, 'paymentmethod' => 'banktransfer', 'pid' => [${backup}], 'billingcycle' => ['annually'], 'noemail' => true]`,
        );
        return phpOk(served, `['action' => 'GetInvoice', 'invoiceid' => ${placed.invoiceid}]`);
      };
      await phpOk(
        served,
        `['action' => 'AddCredit', 'clientid' => ${c}, 'description' => 'goodwill', 'amount' => '15.00']`,
      );
      const first = await order();
      // the backup, annually, untaxed: 20.00; 15.00 of credit on it leaves 5.00 due and no credit
      expect(first).to.include({
        subtotal: '20.00',
        tax: '0.00',
        credit: '15.00',
        total: '5.00',
        balance: '5.00',
        status: 'Unpaid',
      });
      expect(await creditOf()).to.equal('0.00');
      const log = (
        await f.knex('tblactivitylog').where({ userid: c }).orderBy('id').select('description')
      ).map((r) => String(r.description));
      expect(log).to.include(
        `Credit Automatically Applied at Invoice Creation - Invoice ID: ${first.invoiceid} - Amount: 15.00`,
      );

      // 30.00 of credit covers the next 20.00 in full: paid, 30.00 − 20.00 = 10.00 left, the service renewed a year on
      await phpOk(
        served,
        `['action' => 'AddCredit', 'clientid' => ${c}, 'description' => 'refund', 'amount' => '30.00']`,
      );
      const second = await order();
      expect(second).to.include({
        subtotal: '20.00',
        credit: '20.00',
        total: '0.00',
        balance: '0.00',
        status: 'Paid',
      });
      expect(await creditOf()).to.equal('10.00');
      const svc = (
        (await phpOk(served, `['action' => 'GetClientsProducts', 'clientid' => ${c}]`)).products as {
          product: Row[];
        }
      ).product;
      expect(svc.map((s) => [s.nextduedate, s.status])).to.deep.equal([
        ['2025-03-10', 'Pending'],
        ['2026-03-10', 'Pending'],
      ]);

      // ticked: the third order's invoice leaves the 10.00 alone
      await f.setting('NoAutoApplyCredit', 'on');
      try {
        const third = await order();
        expect(third).to.include({
          subtotal: '20.00',
          credit: '0.00',
          total: '20.00',
          balance: '20.00',
          status: 'Unpaid',
        });
        expect(await creditOf()).to.equal('10.00');
      } finally {
        await f.setting('NoAutoApplyCredit', '');
      }
    });
  });
});
