import { expect } from 'chai';
import {
  PanelApiError,
  base64PhpSerialize,
  type PanelApi,
  type PanelParams,
  type PanelResult,
} from '../../module/adapters/panel-api.js';
import { createWhmcsHttpApi } from '../../module/adapters/whmcs-http-api.js';
import { addProduct, addService } from '../../panel/records.js';
import { describeEachEngine } from '../support/engines.js';
import {
  ZONE,
  buildPanel,
  seedStory,
  serveApi,
  type PanelFixture,
  type ServedApi,
  type Story,
} from './support.js';

/**
 * One contract, two adapters: the in-process API (WHMCS localAPI) and the WHMCS HTTP client
 * against the panel's /includes/api.php. Each adapter runs the same calls on a fresh panel; every
 * answer (or error) and the hooks each call fired are recorded, and the two transcripts must be
 * identical.
 */
type Entry = { ok: true; result: PanelResult } | { ok: false; kind: string; message: string };
type Transcript = Map<string, { entry: Entry; hooks: string[] }>;

const ADAPTERS = ['in-process', 'http'] as const;

describeEachEngine('PanelApi contract', ({ db }) => {
  const transcripts: Record<(typeof ADAPTERS)[number], Transcript> = {
    'in-process': new Map(),
    http: new Map(),
  };

  for (const adapter of ADAPTERS) {
    describe(adapter, () => {
      let f: PanelFixture;
      let story: Story;
      let served: ServedApi;
      let api: PanelApi;
      const t = transcripts[adapter];

      /** runs a raw call, records it, returns the result or throws the PanelApiError */
      async function call(name: string, command: string, params: PanelParams = {}): Promise<PanelResult> {
        f.panel.hooks.clearTrace();
        try {
          const result = await api.call(command, params);
          t.set(name, { entry: { ok: true, result }, hooks: f.panel.hooks.fired() });
          return result;
        } catch (err) {
          if (!(err instanceof PanelApiError)) throw err;
          t.set(name, {
            entry: { ok: false, kind: err.kind, message: err.message },
            hooks: f.panel.hooks.fired(),
          });
          throw err;
        }
      }

      async function refused(
        name: string,
        command: string,
        params: PanelParams,
        message: string | RegExp,
      ): Promise<void> {
        try {
          await call(name, command, params);
        } catch (err) {
          expect(err).to.be.instanceOf(PanelApiError);
          expect((err as PanelApiError).kind).to.equal('api');
          if (typeof message === 'string') expect((err as PanelApiError).message).to.equal(message);
          else expect((err as PanelApiError).message).to.match(message);
          return;
        }
        expect.fail(`${command} should have been refused`);
      }

      before(async () => {
        f = await buildPanel(db().knex, {
          start: '2025-01-20T09:30:00Z',
          settings: { CreateInvoiceDaysBefore: '14' },
        });
        story = await seedStory(f);
        served = await serveApi(f);
        api =
          adapter === 'http'
            ? createWhmcsHttpApi({
                url: served.url,
                identifier: served.identifier,
                secret: served.secret,
                retries: 0,
                timeoutMs: 10_000,
              })
            : f.panel.api;
        // the same guards on both panels, answering only to the calls meant to trigger them
        f.panel.hooks.add('PreModuleSuspend', 1, (vars) =>
          vars.params.suspendreason === 'blocked-by-hook' ? { abortcmd: true } : undefined,
        );
        f.panel.hooks.add('EmailPreSend', 1, (vars) =>
          vars.mergefields.block === 'yes' ? { abortsend: true } : { hook_note: 'added by hook' },
        );
      });
      after(async () => {
        await served?.close();
      });

      it('GetClientsDetails returns the client in WHMCS shape and refuses missing or unknown ids', async () => {
        const r = await call('clients.details', 'GetClientsDetails', {
          clientid: story.dutchClientId,
          stats: true,
        });
        const client = r.client as Record<string, string>;
        expect(client).to.include({
          id: String(story.dutchClientId),
          firstname: 'Jan',
          language: 'dutch',
          credit: '0.00',
          latefeeoveride: '',
          currency_code: 'EUR',
        });
        expect((r.stats as Record<string, string>).productsnumactive).to.equal('1');
        const typed = await api.getClientsDetails(story.clientId);
        expect(typed).to.include({
          id: story.clientId,
          email: 'ann@example.net',
          credit: '0.00',
          overideDueNotices: false,
        });
        await refused(
          'clients.details.none',
          'GetClientsDetails',
          {},
          'Either clientid Or email Is Required',
        );
        await refused('clients.details.unknown', 'GetClientsDetails', { clientid: 999 }, 'Client Not Found');
        await refused(
          'clients.details.garbage',
          'GetClientsDetails',
          { clientid: 'abc' },
          'Client Not Found',
        );
      });

      it('GetClientsProducts lists services with their SolusVM vserverid custom field', async () => {
        const r = await call('products.client', 'GetClientsProducts', { clientid: story.clientId });
        expect(r).to.include({ totalresults: '1', startnumber: 0, numreturned: 1, serviceid: null });
        const typed = await api.getClientsProducts({ serviceId: story.dutchServiceId });
        expect(typed.products).to.have.length(1);
        expect(typed.products[0]).to.include({
          id: story.dutchServiceId,
          nextDueDate: '2025-02-01',
          recurringAmount: '24.50',
          status: 'Active',
          billingCycle: 'Monthly',
          overideAutoSuspend: false,
          overideSuspendUntil: null,
        });
        expect(typed.products[0]!.customFields).to.deep.equal({ vserverid: '102' });
        const none = await call('products.garbage', 'GetClientsProducts', { serviceid: 'abc' });
        expect(none).to.include({ totalresults: '0', numreturned: 0 });
      });

      it('CreateInvoice creates lines and exact totals, and a bad call writes nothing', async () => {
        const before = await api.getInvoices({});
        const r = await call('invoice.create', 'CreateInvoice', {
          userid: story.clientId,
          date: '2025-01-20',
          duedate: '2025-01-27',
          taxrate: '21',
          itemdescription1: 'Setup',
          itemamount1: '10.00',
          itemtaxed1: true,
          itemdescription2: 'Discount',
          itemamount2: '-0.05',
          itemtaxed2: false,
          itemdescription3: 'Support hour',
          itemamount3: '0.1',
          itemtaxed3: '1',
        });
        expect(r).to.deep.equal({
          result: 'success',
          invoiceid: String(before.totalResults + 1),
          status: 'Unpaid',
        });
        const inv = await call('invoice.create.get', 'GetInvoice', { invoiceid: r.invoiceid as string });
        // taxed 10.10 × 21 % = 2.121 → 2.12; total 10.05 + 2.12
        expect(inv).to.include({
          subtotal: '10.05',
          tax: '2.12',
          total: '12.17',
          balance: '12.17',
          taxrate: '21.00',
          status: 'Unpaid',
          datepaid: '0000-00-00 00:00:00',
          transactions: '',
        });
        expect((inv.items as { item: unknown[] }).item).to.have.length(3);
        expect(t.get('invoice.create')!.hooks).to.deep.equal([
          'InvoiceCreation',
          'InvoiceCreationPreEmail',
          'InvoiceCreated',
        ]);

        await refused(
          'invoice.create.draftsend',
          'CreateInvoice',
          { userid: story.clientId, draft: true, sendinvoice: true, itemdescription1: 'x', itemamount1: '1' },
          'Cannot create and send a draft invoice in a single API request. Please create and send separately.',
        );
        await refused(
          'invoice.create.client',
          'CreateInvoice',
          { userid: 999, itemdescription1: 'x', itemamount1: '1' },
          'Client ID Not Found',
        );
        await refused(
          'invoice.create.amount',
          'CreateInvoice',
          { userid: story.clientId, itemdescription1: 'x', itemamount1: 'abc' },
          'Amount must be in decimal format: ### or ###.##',
        );
        await refused(
          'invoice.create.nodesc',
          'CreateInvoice',
          { userid: story.clientId, itemamount2: '5' },
          /^Missing Variables: itemdescription2/,
        );
        await refused(
          'invoice.create.date',
          'CreateInvoice',
          { userid: story.clientId, duedate: '2025-02-30', itemdescription1: 'x', itemamount1: '1' },
          "Invalid Date Format - Expected: 'YYYY-mm-dd'",
        );
        await refused(
          'invoice.create.status',
          'CreateInvoice',
          { userid: story.clientId, status: 'Overdue', itemdescription1: 'x', itemamount1: '1' },
          'Invalid status Overdue',
        );
        expect((await api.getInvoices({})).totalResults).to.equal(before.totalResults + 1);
      });

      it('UpdateInvoice changes, adds and deletes lines and recalculates; a malformed call changes nothing', async () => {
        const { invoiceId } = await api.createInvoice({
          userId: story.clientId,
          date: '2025-01-20',
          dueDate: '2025-01-27',
          items: [
            { description: 'A', amount: '1.00' },
            { description: 'B', amount: '2.00', taxed: true },
          ],
        });
        const before = await api.getInvoice(invoiceId);
        const [a, b] = before.items;
        const r = await call('invoice.update', 'UpdateInvoice', {
          invoiceid: invoiceId,
          itemdescription: { [a!.id]: 'A changed' },
          itemamount: { [a!.id]: '1.50' },
          itemtaxed: { [a!.id]: false },
          newitemdescription: ['C', 'D'],
          newitemamount: ['3.25', '0.75'],
          newitemtaxed: [true, false],
          deletelineids: [b!.id],
          notes: 'updated',
        });
        expect(r).to.deep.equal({ result: 'success', invoiceid: String(invoiceId) });
        expect(t.get('invoice.update')!.hooks).to.deep.equal(['UpdateInvoiceTotal']);
        const after = await api.getInvoice(invoiceId);
        expect(after.items.map((i) => [i.description, i.amount, i.taxed, i.type, i.relId])).to.deep.equal([
          ['A changed', '1.50', false, '', 0],
          ['C', '3.25', true, '', 0],
          ['D', '0.75', false, '', 0],
        ]);
        expect(after).to.include({ subtotal: '5.50', total: '5.50', notes: 'updated' });

        const untouched = JSON.stringify(await api.getInvoice(invoiceId));
        await refused(
          'invoice.update.mismatch',
          'UpdateInvoice',
          { invoiceid: invoiceId, newitemdescription: ['x', 'y'], newitemamount: ['1.00'] },
          /^Missing Variables: newitemdescription/,
        );
        await refused(
          'invoice.update.scalar',
          'UpdateInvoice',
          { invoiceid: invoiceId, newitemdescription: ['x'], newitemamount: 'abc' },
          /^Invalid newitemamount: an array is expected/,
        );
        await refused(
          'invoice.update.amount',
          'UpdateInvoice',
          {
            invoiceid: invoiceId,
            newitemdescription: ['x', 'y'],
            newitemamount: ['1.00', 'abc'],
            deletelineids: [a!.id],
          },
          'Amount must be in decimal format: ### or ###.##',
        );
        await refused(
          'invoice.update.partial',
          'UpdateInvoice',
          { invoiceid: invoiceId, itemdescription: { [a!.id]: 'only the description' } },
          'Missing Variables: itemdescription, itemamount and itemtaxed are required for each item being changed',
        );
        await refused(
          'invoice.update.foreignline',
          'UpdateInvoice',
          { invoiceid: invoiceId, deletelineids: [999999], newitemdescription: ['x'], newitemamount: ['1'] },
          'Invoice Item ID Not Found: 999999',
        );
        await refused(
          'invoice.update.status',
          'UpdateInvoice',
          { invoiceid: invoiceId, status: 'Bogus' },
          'Invalid status Bogus',
        );
        await refused(
          'invoice.update.unknown',
          'UpdateInvoice',
          { invoiceid: 999999, notes: 'x' },
          'Invoice ID Not Found',
        );
        await refused(
          'invoice.update.publish',
          'UpdateInvoice',
          { invoiceid: invoiceId, publish: true },
          'Invoice must be in Draft status to be published',
        );
        expect(JSON.stringify(await api.getInvoice(invoiceId))).to.equal(untouched);
      });

      it('a draft is published (and emailed) through UpdateInvoice, firing InvoiceCreated', async () => {
        const { invoiceId, status } = await api.createInvoice({
          userId: story.dutchClientId,
          draft: true,
          items: [{ description: 'Held line', amount: '7.00' }],
        });
        expect(status).to.equal('Draft');
        await call('invoice.publish', 'UpdateInvoice', {
          invoiceid: invoiceId,
          publishandsendemail: true,
          duedate: '2025-02-10',
        });
        expect(t.get('invoice.publish')!.hooks).to.deep.equal([
          'InvoiceCreationPreEmail',
          'EmailPreSend',
          'InvoiceCreated',
        ]);
        expect(await api.getInvoice(invoiceId)).to.include({ status: 'Unpaid', dueDate: '2025-02-10' });
        const emails = await call('invoice.publish.emails', 'GetEmails', { clientid: story.dutchClientId });
        const list = (emails.emails as { email: Array<{ subject: string; message: string; to: string }> })
          .email;
        expect(list.at(-1)!.subject).to.equal('Factuur');
        expect(list.at(-1)!.to).to.equal('Jan Peeters <jan@example.be>');
        expect(list.at(-1)!.message)
          .to.contain('Held line')
          .and.match(/€\s7,00/);
      });

      it('GenInvoices creates the renewal once per due date', async () => {
        const r = await call('gen.client', 'GenInvoices', { clientid: story.clientId });
        expect(r.numcreated).to.equal('1');
        const invoiceId = Number(r.latestinvoiceid);
        const inv = await api.getInvoice(invoiceId);
        expect(inv.items).to.deep.equal([
          {
            id: inv.items[0]!.id,
            type: 'Hosting',
            relId: story.serviceId,
            description: 'VPS 5 TB - vps1.example.net (01/02/2025 - 28/02/2025)',
            amount: '19.95',
            taxed: false,
          },
        ]);
        expect(inv).to.include({ dueDate: '2025-02-01', date: '2025-01-20', total: '19.95' });
        expect(t.get('gen.client')!.hooks).to.deep.equal([
          'PreInvoicingGenerateInvoiceItems',
          'InvoiceCreation',
          'InvoiceCreationPreEmail',
          'EmailPreSend',
          'InvoiceCreated',
          'AfterInvoicingGenerateInvoiceItems',
        ]);
        expect(await call('gen.again', 'GenInvoices', { clientid: story.clientId })).to.deep.equal({
          result: 'success',
          numcreated: '0',
        });
        await refused('gen.unknown', 'GenInvoices', { clientid: 999 }, 'Client ID Not Found');
      });

      it('AddInvoicePayment takes partial and full payments; paying the renewal moves the next due date', async () => {
        const list = await api.getInvoices({
          userId: story.clientId,
          status: 'Unpaid',
          orderBy: 'duedate',
          order: 'desc',
        });
        const renewal = list.invoices.find((i) => i.dueDate === '2025-02-01')!;
        await call('pay.partial', 'AddInvoicePayment', {
          invoiceid: renewal.id,
          transid: 'T-1',
          gateway: 'banktransfer',
          amount: '5.00',
          date: '2025-01-21 10:00:00',
        });
        expect(await api.getInvoice(renewal.id)).to.include({ status: 'Unpaid', balance: '14.95' });
        expect(
          (await api.getClientsProducts({ serviceId: story.serviceId })).products[0]!.nextDueDate,
        ).to.equal('2025-02-01');
        await call('pay.rest', 'AddInvoicePayment', {
          invoiceid: renewal.id,
          transid: 'T-2',
          gateway: 'banktransfer',
        });
        expect(t.get('pay.rest')!.hooks).to.deep.equal([
          'AddTransaction',
          'AddInvoicePayment',
          'InvoicePaidPreEmail',
          'EmailPreSend',
          'InvoicePaid',
        ]);
        const paid = await api.getInvoice(renewal.id);
        expect(paid).to.include({ status: 'Paid', balance: '0.00', datePaid: '2025-01-20 10:30:00' });
        expect(paid.transactions.map((x) => [x.transId, x.amountIn])).to.deep.equal([
          ['T-1', '5.00'],
          ['T-2', '14.95'],
        ]);
        expect(
          (await api.getClientsProducts({ serviceId: story.serviceId })).products[0]!.nextDueDate,
        ).to.equal('2025-03-01');

        const { invoiceId } = await api.createInvoice({
          userId: story.clientId,
          items: [{ description: 'x', amount: '1.00' }],
        });
        await api.updateInvoice({ invoiceId, status: 'Cancelled' });
        await refused(
          'pay.cancelled',
          'AddInvoicePayment',
          { invoiceid: invoiceId, transid: 'T-3', gateway: 'banktransfer' },
          'It is not possible to add a payment to an invoice that is Cancelled',
        );
        await refused(
          'pay.unknown',
          'AddInvoicePayment',
          { invoiceid: 999999, transid: 'T-4', gateway: 'banktransfer' },
          'Invoice ID Not Found',
        );
        await refused(
          'pay.amount',
          'AddInvoicePayment',
          { invoiceid: renewal.id, transid: 'T-5', gateway: 'banktransfer', amount: '1,5' },
          'Amount must be in decimal format: ### or ###.##',
        );
        await refused(
          'pay.date',
          'AddInvoicePayment',
          { invoiceid: renewal.id, transid: 'T-6', gateway: 'banktransfer', date: 'yesterday' },
          "Invalid Date Format - Expected: 'YYYY-mm-dd'",
        );
      });

      it('UpgradeProduct answers the prorated figures, orders the upgrade on an invoice, and carries it out when paid; bad calls change nothing', async () => {
        const knex = db().knex;
        const bigger = await addProduct(
          knex,
          { name: 'VPS 10 TB', servertype: 'solusvmpro', monthly: { EUR: '30.00' } },
          f.clock.now(),
          ZONE,
        );
        const unpriced = await addProduct(
          knex,
          { name: 'VPS 20 TB', servertype: 'solusvmpro' },
          f.clock.now(),
          ZONE,
        );
        const sid = await addService(
          knex,
          {
            userid: story.clientId,
            packageid: story.productId,
            domain: 'vps9.example.net',
            regdate: '2024-12-05',
            nextduedate: '2025-02-05',
            amount: '20.00',
          },
          f.clock.now(),
          ZONE,
        );
        const products = await call('GetProducts.pricing', 'GetProducts', { pid: bigger });
        expect(
          (products.products as { product: Array<{ pricing: Record<string, Record<string, string>> }> })
            .product[0]!.pricing.EUR,
        ).to.deep.include({ monthly: '30.00', quarterly: '-1.00', msetupfee: '0.00' });
        const base = { serviceid: sid, type: 'product', paymentmethod: 'banktransfer', newproductid: bigger };
        // today 20 January; due 5 February; the cycle 5 January – 5 February is 31 days, 16 left:
        // due (30.00 − 20.00) × 16 / 31 = 5.161… → 5.16; the unused 20.00 × 16 / 31 = 10.322… → 10.32 credited
        const calc = await call('UpgradeProduct.calconly', 'UpgradeProduct', { ...base, calconly: true });
        expect(calc).to.deep.include({
          oldproductid: story.productId,
          oldproductname: 'VPS 5 TB',
          newproductid: bigger,
          newproductname: 'VPS 10 TB',
          daysuntilrenewal: 16,
          totaldays: 31,
          newproductbillingcycle: 'Monthly',
          credit: '10.32',
          price: '5.16',
          upgradeinprogress: false,
        });
        await refused(
          'UpgradeProduct.configoptions',
          'UpgradeProduct',
          { ...base, type: 'configoptions' },
          'Configurable option upgrades are not available on this panel',
        );
        await refused(
          'UpgradeProduct.nopayment',
          'UpgradeProduct',
          { ...base, paymentmethod: '' },
          'Invalid Payment Method. Valid options include banktransfer',
        );
        await refused(
          'UpgradeProduct.noservice',
          'UpgradeProduct',
          { ...base, serviceid: 99999 },
          'Service ID Not Found',
        );
        await refused(
          'UpgradeProduct.noproduct',
          'UpgradeProduct',
          { ...base, newproductid: 99999 },
          'Invalid New Product ID',
        );
        await refused(
          'UpgradeProduct.unpriced',
          'UpgradeProduct',
          { ...base, newproductid: unpriced },
          "The new product has no Monthly price in the client's currency",
        );
        expect(await knex('tblupgrades')).to.deep.equal([]);
        const ordered = await call('UpgradeProduct.order', 'UpgradeProduct', base);
        expect(ordered).to.deep.include({ price: '5.16', credit: '10.32' });
        await refused(
          'UpgradeProduct.twice',
          'UpgradeProduct',
          base,
          'An upgrade is already in progress for this service',
        );
        const inv = await api.getInvoice(Number(ordered.invoiceid));
        expect(inv.items.map((i) => [i.type, i.relId, i.amount])).to.deep.equal([
          ['Upgrade', Number(ordered.upgradeid), '5.16'],
        ]);
        expect(Number((await knex('tblhosting').where({ id: sid }).first('packageid')).packageid)).to.equal(
          story.productId,
        );
        f.panel.hooks.clearTrace();
        await api.addInvoicePayment({ invoiceId: inv.invoiceId, transId: 'UP-1', gateway: 'banktransfer' });
        expect(f.panel.hooks.fired()).to.include('AfterProductUpgrade');
        const svc = await knex('tblhosting').where({ id: sid }).first('packageid', 'amount');
        expect([Number(svc.packageid), String(svc.amount)]).to.deep.equal([bigger, '30.00']);
      });

      it('UpdateClientProduct sets the suspension override, usage and due date; bad values change nothing', async () => {
        const r = await call('svc.update', 'UpdateClientProduct', {
          serviceid: story.dutchServiceId,
          overideautosuspend: 'on',
          overidesuspenduntil: '2025-03-15',
          bwusage: 6291456,
          bwlimit: 5242880,
          customfields: base64PhpSerialize({ [story.vserverFieldId]: '202' }),
        });
        expect(r).to.deep.equal({ result: 'success', serviceid: String(story.dutchServiceId) });
        const s = (await api.getClientsProducts({ serviceId: story.dutchServiceId })).products[0]!;
        expect(s).to.include({
          overideAutoSuspend: true,
          overideSuspendUntil: '2025-03-15',
          bwUsage: 6291456,
          bwLimit: 5242880,
          lastUpdate: '2025-01-20 10:30:00',
        });
        expect(s.customFields).to.deep.equal({ vserverid: '202' });
        await api.updateClientProduct({
          serviceId: story.dutchServiceId,
          overideAutoSuspend: false,
          overideSuspendUntil: '',
        });
        expect((await api.getClientsProducts({ serviceId: story.dutchServiceId })).products[0]).to.include({
          overideAutoSuspend: false,
          overideSuspendUntil: null,
        });

        await refused(
          'svc.update.unknown',
          'UpdateClientProduct',
          { serviceid: 999, status: 'Active' },
          'Service ID Not Found',
        );
        await refused(
          'svc.update.flag',
          'UpdateClientProduct',
          { serviceid: story.dutchServiceId, bwusage: 1, overideautosuspend: 'maybe' },
          "overideautosuspend must be 'on' or 'off'",
        );
        await refused(
          'svc.update.status',
          'UpdateClientProduct',
          { serviceid: story.dutchServiceId, bwusage: 1, status: 'Paused' },
          'Invalid status Paused',
        );
        await refused(
          'svc.update.bw',
          'UpdateClientProduct',
          { serviceid: story.dutchServiceId, bwusage: '-5' },
          'Invalid bwusage: a whole number is required',
        );
        await refused(
          'svc.update.date',
          'UpdateClientProduct',
          { serviceid: story.dutchServiceId, bwusage: 1, nextduedate: '01/02/2025' },
          "Invalid Date Format - Expected: 'YYYY-mm-dd'",
        );
        expect(
          (await api.getClientsProducts({ serviceId: story.dutchServiceId })).products[0]!.bwUsage,
        ).to.equal(6291456);
      });

      it('ModuleSuspend and ModuleUnsuspend go through PreModule hooks, which may abort', async () => {
        await call('module.suspend', 'ModuleSuspend', {
          serviceid: story.dutchServiceId,
          suspendreason: 'Abuse',
        });
        expect(t.get('module.suspend')!.hooks).to.deep.equal(['PreModuleSuspend', 'AfterModuleSuspend']);
        expect((await api.getClientsProducts({ serviceId: story.dutchServiceId })).products[0]).to.include({
          status: 'Suspended',
          suspensionReason: 'Abuse',
        });
        await call('module.unsuspend', 'ModuleUnsuspend', { accountid: story.dutchServiceId });
        expect((await api.getClientsProducts({ serviceId: story.dutchServiceId })).products[0]).to.include({
          status: 'Active',
          suspensionReason: '',
        });
        await refused(
          'module.aborted',
          'ModuleSuspend',
          { serviceid: story.dutchServiceId, suspendreason: 'blocked-by-hook' },
          'Function Aborted by Action Hook Code',
        );
        expect(
          (await api.getClientsProducts({ serviceId: story.dutchServiceId })).products[0]!.status,
        ).to.equal('Active');
        await refused('module.none', 'ModuleSuspend', {}, 'Service ID is required');
        await refused('module.unknown', 'ModuleSuspend', { serviceid: 999 }, 'Service ID not found');
        const plain = await addProduct(f.knex, { name: 'Plain' }, f.clock.now(), ZONE);
        const plainService = await addService(
          f.knex,
          { userid: story.clientId, packageid: plain, regdate: '2025-01-01', amount: '1.00' },
          f.clock.now(),
          ZONE,
        );
        await refused(
          'module.nomodule',
          'ModuleSuspend',
          { serviceid: plainService },
          'Service not assigned to a module',
        );
      });

      it('SendEmail renders templates in the client language through EmailPreSend, and custom emails', async () => {
        await call('email.template', 'SendEmail', {
          messagename: 'Service Suspension Notification',
          id: story.dutchServiceId,
        });
        expect(t.get('email.template')!.hooks).to.deep.equal(['EmailPreSend']);
        await call('email.custom', 'SendEmail', {
          customtype: 'general',
          customsubject: 'Hello {$client_first_name}',
          custommessage: '<p>{$custommerge}</p>',
          id: story.clientId,
          customvars: base64PhpSerialize({ custommerge: 'a <b> c' }),
        });
        const emails = (await call('email.list', 'GetEmails', { clientid: story.clientId })).emails as {
          email: Array<{ subject: string; message: string }>;
        };
        expect(emails.email.at(-1)).to.include({ subject: 'Hello Ann', message: '<p>a &lt;b&gt; c</p>' });
        const dutch = (
          await call('email.list.nl', 'GetEmails', { clientid: story.dutchClientId, subject: 'opgeschort' })
        ).emails as { email: Array<{ subject: string }> };
        expect(dutch.email.map((e) => e.subject)).to.deep.equal(['Dienst opgeschort']);

        await refused(
          'email.none',
          'SendEmail',
          { id: 1 },
          'You must provide either an existing email template name or a custom message type',
        );
        await refused(
          'email.type',
          'SendEmail',
          { customtype: 'postcard', customsubject: 's', custommessage: 'm', id: 1 },
          'Invalid message type provided',
        );
        await refused(
          'email.subject',
          'SendEmail',
          { customtype: 'general', custommessage: 'm', id: 1 },
          'A subject is required for a custom message',
        );
        await refused(
          'email.body',
          'SendEmail',
          { customtype: 'general', customsubject: 's', id: 1 },
          'A message body is required for a custom message',
        );
        await refused(
          'email.vars',
          'SendEmail',
          { messagename: 'Client Signup Email', id: story.clientId, customvars: 'not-serialized' },
          'The custom variables you provided are invalid.',
        );
        await refused(
          'email.relid',
          'SendEmail',
          { messagename: 'Client Signup Email' },
          'A related ID is required',
        );
        await refused(
          'email.template404',
          'SendEmail',
          { messagename: 'No Such Template', id: story.clientId },
          'Email Template not found',
        );
        await refused(
          'email.badrelid',
          'SendEmail',
          { messagename: 'Client Signup Email', id: 999 },
          'Sending Failed. Please see documentation.',
        );
        await refused(
          'email.aborted',
          'SendEmail',
          { messagename: 'Client Signup Email', id: story.clientId, customvars: { block: 'yes' } },
          'Sending Failed. Please see documentation.',
        );
      });

      it('SendAdminEmail, LogActivity and GetConfigurationValue', async () => {
        await call('admin.email', 'SendAdminEmail', {
          messagename: 'Service Unsuspension Successful',
          mergefields: { client_id: '1', service_id: '2', service_product: 'VPS', service_domain: 'x' },
        });
        await refused(
          'admin.email.404',
          'SendAdminEmail',
          { messagename: 'Nope' },
          'Email Template not found',
        );
        await call('activity', 'LogActivity', { description: 'Overusage: hello', clientid: story.clientId });
        const log = await call('activity.get', 'GetActivityLog', { description: 'Overusage:' });
        expect(
          (log.activity as { entry: Array<{ description: string; userid: string }> }).entry[0],
        ).to.include({ description: 'Overusage: hello', userid: String(story.clientId) });
        await refused(
          'activity.empty',
          'LogActivity',
          { description: '  ' },
          'Parameter description is required',
        );
        expect(
          await call('config.get', 'GetConfigurationValue', { setting: 'CreateInvoiceDaysBefore' }),
        ).to.deep.equal({ result: 'success', setting: 'CreateInvoiceDaysBefore', value: '14' });
        expect(await api.getConfigurationValue('AutoSuspensionDays')).to.equal('7');
        await refused('config.none', 'GetConfigurationValue', {}, 'Parameter setting is required');
        await refused(
          'config.unknown',
          'GetConfigurationValue',
          { setting: 'NoSuchSetting' },
          'Invalid name for parameter setting',
        );
      });

      it('an unknown command is refused with "Command Not Found"', async () => {
        await refused('unknown', 'FlyToTheMoon', {}, 'Command Not Found');
        // WHMCS matches the action case-insensitively
        expect((await call('case', 'getconfigurationvalue', { setting: 'Language' })).value).to.equal(
          'english',
        );
      });
    });
  }

  describe('both adapters', () => {
    it('gave identical answers, errors and hook sequences for every call', function () {
      const local = transcripts['in-process'];
      const http = transcripts.http;
      if (local.size === 0 || http.size === 0) this.skip();
      expect([...http.keys()]).to.deep.equal([...local.keys()]);
      // the client's uuid is random per panel, and the activity log names the caller (the API
      // credential's admin and IP over HTTP, System locally); everything else must match exactly
      const VARYING = new Set(['uuid', 'username', 'ipaddress']);
      const comparable = (x: unknown) =>
        JSON.parse(JSON.stringify(x, (k, v) => (VARYING.has(k) ? '<varies>' : v)));
      for (const [name, entry] of local)
        expect(comparable(http.get(name)), name).to.deep.equal(comparable(entry));
    });
  });
});
