import { expect } from 'chai';
import { addDays } from '../../module/domain/calendar.js';
import type { AutomationReport } from '../../panel/index.js';
import { addClient, addProduct, addService } from '../../panel/records.js';
import { describeEachEngine } from '../support/engines.js';
import { ZONE, buildPanel, type PanelFixture } from './support.js';

/**
 * The per-client and per-service "do not" flags WHMCS has (docs/whmcs.md, "Automation and dunning"), and how renewals are
 * grouped into invoices, over four weeks of unpaid renewals all due on 1 February.
 */
describeEachEngine('automation flags and grouping', ({ db }) => {
  let f: PanelFixture;
  const ids = {} as Record<
    | 'quiet'
    | 'quietSvc'
    | 'nofee'
    | 'nofeeSvc1'
    | 'nofeeSvc2'
    | 'held'
    | 'heldUntil'
    | 'heldForever'
    | 'separate'
    | 'separateSvc1'
    | 'separateSvc2',
    number
  >;
  const reports: AutomationReport[] = [];

  before(async function () {
    this.timeout(60_000);
    f = await buildPanel(db().knex, {
      start: '2025-01-24T08:00:00Z',
      settings: {
        CreateInvoiceDaysBefore: '7',
        SendInvoiceReminderDays: '3',
        SendFirstOverdueInvoiceReminder: '1',
        SendSecondOverdueInvoiceReminder: '3',
        SendThirdOverdueInvoiceReminder: '5',
        AddLateFeeDays: '5',
        LateFeeType: 'Fixed Amount',
        InvoiceLateFeeAmount: '2.50',
        LateFeeMinimum: '0',
        AutoSuspensionDays: '7',
      },
    });
    const now = f.clock.now();
    const product = await addProduct(f.knex, { name: 'VPS', servertype: 'solusvmpro' }, now, ZONE);
    const client = (
      name: string,
      flags: Parameters<typeof addClient>[1] extends infer C ? Partial<C> : never,
    ) =>
      addClient(
        f.knex,
        { firstname: name, lastname: 'Test', email: `${name.toLowerCase()}@example.net`, ...flags },
        now,
        ZONE,
      );
    const service = (userid: number, amount: string) =>
      addService(
        f.knex,
        { userid, packageid: product, regdate: '2025-01-01', nextduedate: '2025-02-01', amount },
        now,
        ZONE,
      );
    ids.quiet = await client('Quiet', { overideduenotices: true });
    ids.quietSvc = await service(ids.quiet, '10.00');
    ids.nofee = await client('Nofee', { latefeeoveride: true });
    ids.nofeeSvc1 = await service(ids.nofee, '10.00');
    ids.nofeeSvc2 = await service(ids.nofee, '5.00');
    ids.held = await client('Held', {});
    ids.heldUntil = await service(ids.held, '10.00');
    ids.heldForever = await service(ids.held, '10.00');
    await f.panel.api.updateClientProduct({
      serviceId: ids.heldUntil,
      overideAutoSuspend: true,
      overideSuspendUntil: '2025-02-10',
    });
    await f.panel.api.updateClientProduct({ serviceId: ids.heldForever, overideAutoSuspend: true });
    ids.separate = await client('Separate', { separateinvoices: true });
    ids.separateSvc1 = await service(ids.separate, '10.00');
    ids.separateSvc2 = await service(ids.separate, '10.00');
    for (let day = 0; day < 28; day++) {
      const date = addDays('2025-01-24', day);
      f.clock.set(`${date}T08:00:00Z`);
      const r = await f.panel.runDailyAutomation();
      expect(r.failures).to.deep.equal([]);
      reports.push(r);
    }
  });

  const invoicesOf = async (clientId: number) =>
    (await f.panel.api.getInvoices({ userId: clientId })).invoices;
  const suspendedOn = (serviceId: number) =>
    reports
      .filter((r) => r.suspensions.some((s) => s.serviceid === serviceId && s.outcome === 'suspended'))
      .map((r) => r.date);

  it('puts a client’s renewals due together on one invoice, unless the client wants separate invoices', async () => {
    const nofee = await invoicesOf(ids.nofee);
    expect(nofee).to.have.length(1);
    expect(
      (await f.panel.api.getInvoice(nofee[0]!.id)).items.map((i) => [i.type, i.relId, i.amount]),
    ).to.deep.equal([
      ['Hosting', ids.nofeeSvc1, '10.00'],
      ['Hosting', ids.nofeeSvc2, '5.00'],
    ]);
    expect(await invoicesOf(ids.separate)).to.have.length(2);
    // all due 1 February, invoiced 7 days ahead, once
    expect(
      reports.filter((r) => r.invoicesCreated.length > 0).map((r) => [r.date, r.invoicesCreated.length]),
    ).to.deep.equal([['2025-01-25', 5]]);
  });

  it('skips the overdue notices of a client with "no overdue notices", but still sends the reminder', async () => {
    const [inv] = await invoicesOf(ids.quiet);
    const notices = reports.flatMap((r) =>
      r.notices.filter((n) => n.invoiceid === inv!.id).map((n) => `${r.date} ${n.type} ${n.outcome}`),
    );
    expect(notices).to.deep.equal([
      '2025-01-29 reminder sent',
      '2025-02-02 firstoverdue skipped_client_override',
      '2025-02-04 secondoverdue skipped_client_override',
      '2025-02-06 thirdoverdue skipped_client_override',
    ]);
    expect((await f.panel.api.getInvoice(inv!.id)).items.map((i) => i.type)).to.deep.equal([
      'Hosting',
      'LateFee',
    ]);
  });

  it('adds no late fee for a client with the late fee override, and a fixed one to the others', async () => {
    const [nofee] = await invoicesOf(ids.nofee);
    expect((await f.panel.api.getInvoice(nofee!.id)).items.map((i) => i.type)).to.deep.equal([
      'Hosting',
      'Hosting',
    ]);
    const fees = reports.flatMap((r) => r.lateFees.map((l) => `${r.date} ${l.amount}`));
    expect(fees).to.deep.equal(Array(4).fill('2025-02-06 2.50'));
  });

  it('holds off a suspension until the override date has passed, and for ever without a date', async () => {
    expect(suspendedOn(ids.quietSvc)).to.deep.equal(['2025-02-08']);
    expect(suspendedOn(ids.nofeeSvc1)).to.deep.equal(['2025-02-08']);
    expect(suspendedOn(ids.heldUntil)).to.deep.equal(['2025-02-11']);
    expect(suspendedOn(ids.heldForever)).to.deep.equal([]);
    const overridden = reports
      .filter((r) => r.suspensions.some((s) => s.serviceid === ids.heldUntil && s.outcome === 'overridden'))
      .map((r) => r.date);
    expect(overridden).to.deep.equal(['2025-02-08', '2025-02-09', '2025-02-10']);
    const svc = (await f.panel.api.getClientsProducts({ serviceId: ids.heldForever })).products[0]!;
    expect(svc).to.include({ status: 'Active', nextDueDate: '2025-02-01', overideAutoSuspend: true });
  });
});

describeEachEngine('continuous invoice generation', ({ db }) => {
  for (const continuous of [false, true]) {
    it(`${continuous ? 'invoices the next period while the last is unpaid' : 'waits for the unpaid renewal before invoicing the next period'} when ContinuousInvoiceGeneration is ${continuous ? 'on' : 'off'}`, async () => {
      const f = await buildPanel(db().knex, {
        start: '2025-01-25T08:00:00Z',
        settings: { CreateInvoiceDaysBefore: '7', ContinuousInvoiceGeneration: continuous ? 'on' : '' },
      });
      const now = f.clock.now();
      const client = await addClient(
        f.knex,
        { firstname: 'C', lastname: 'C', email: 'c@example.net' },
        now,
        ZONE,
      );
      const product = await addProduct(f.knex, { name: 'VPS' }, now, ZONE);
      await addService(
        f.knex,
        {
          userid: client,
          packageid: product,
          regdate: '2025-01-01',
          nextduedate: '2025-02-01',
          amount: '10.00',
        },
        now,
        ZONE,
      );
      const created: string[] = [];
      for (const day of ['2025-01-25', '2025-02-22', '2025-03-25']) {
        f.clock.set(`${day}T08:00:00Z`);
        for (const id of (await f.panel.runDailyAutomation()).invoicesCreated)
          created.push(`${day}: due ${(await f.panel.api.getInvoice(id)).dueDate}`);
      }
      expect(created).to.deep.equal(
        continuous
          ? ['2025-01-25: due 2025-02-01', '2025-02-22: due 2025-03-01', '2025-03-25: due 2025-04-01']
          : ['2025-01-25: due 2025-02-01'],
      );
    });
  }
});
