import { expect } from 'chai';
import { createHookManager } from '../../panel/hooks.js';
import { silentLogger } from '../../module/adapters/logger.js';

function manager() {
  const logged: string[] = [];
  const hooks = createHookManager({ log: silentLogger, logActivity: async (d) => void logged.push(d) });
  return { hooks, logged };
}

describe('hook dispatcher', () => {
  it('runs handlers by ascending priority, registration order breaking ties', async () => {
    const { hooks } = manager();
    const order: string[] = [];
    hooks.add('InvoiceCreation', 10, () => void order.push('b10'));
    hooks.add('InvoiceCreation', 1, () => void order.push('a1'));
    hooks.add('InvoiceCreation', 10, () => void order.push('c10'));
    await hooks.run('InvoiceCreation', { invoiceid: 1 });
    expect(order).to.deep.equal(['a1', 'b10', 'c10']);
  });

  it('gives each handler its own copy of the vars', async () => {
    const { hooks } = manager();
    hooks.add('EmailPreSend', 1, (vars) => {
      vars.mergefields.x = 'changed';
    });
    let seen: unknown;
    hooks.add('EmailPreSend', 2, (vars) => {
      seen = vars.mergefields.x;
    });
    await hooks.run('EmailPreSend', {
      messagename: 'Invoice Created',
      relid: 1,
      mergefields: { x: 'original' },
    });
    expect(seen).to.equal('original');
  });

  it('merges key/value answers, the later handler winning on the same key, and ignores answers where none are supported', async () => {
    const { hooks } = manager();
    hooks.add('EmailPreSend', 1, () => ({ a: '1', b: '1' }));
    hooks.add('EmailPreSend', 2, () => ({ b: '2' }));
    hooks.add('EmailPreSend', 3, () => ({ attachments: [['a.txt', 'x']] }));
    hooks.add('EmailPreSend', 4, () => ({ attachments: [['b.txt', 'y']] }));
    const r = await hooks.run('EmailPreSend', {});
    expect(r.merged).to.deep.equal({
      a: '1',
      b: '2',
      attachments: [
        ['a.txt', 'x'],
        ['b.txt', 'y'],
      ],
    });
    hooks.add('InvoicePaymentReminder', 1, () => ({ abortsend: true }));
    const ignored = await hooks.run('InvoicePaymentReminder', { invoiceid: 1, type: 'reminder' });
    expect(ignored.aborted).to.equal(false);
    expect(ignored.merged).to.deep.equal({});
  });

  it('keeps an abort once any handler answered it', async () => {
    const { hooks } = manager();
    hooks.add('PreModuleSuspend', 1, () => ({ abortcmd: true }));
    hooks.add('PreModuleSuspend', 2, () => ({ abortcmd: false, suspendreason: 'x' }));
    const r = await hooks.run('PreModuleSuspend', { params: { serviceid: 1 } });
    expect(r.aborted).to.equal(true);
    expect(r.merged).to.deep.equal({ abortcmd: true, suspendreason: 'x' });
  });

  it('treats DailyCronJobPreEmail true as "suppress"', async () => {
    const { hooks } = manager();
    hooks.add('DailyCronJobPreEmail', 1, () => false);
    expect((await hooks.run('DailyCronJobPreEmail')).anyTrue).to.equal(false);
    hooks.add('DailyCronJobPreEmail', 2, () => true);
    expect((await hooks.run('DailyCronJobPreEmail')).anyTrue).to.equal(true);
  });

  it('logs a failing handler to the activity log, counts it as no answer, and runs the rest', async () => {
    const { hooks, logged } = manager();
    hooks.add('EmailPreSend', 1, () => {
      throw new Error('boom');
    });
    hooks.add('EmailPreSend', 2, async () => ({ extra: 'yes' }));
    const r = await hooks.run('EmailPreSend', { messagename: 'x' });
    expect(r.merged).to.deep.equal({ extra: 'yes' });
    expect(r.handlers.map((h) => h.outcome)).to.deep.equal(['error', 'answered']);
    expect(logged).to.have.length(1);
    expect(logged[0]).to.match(/^Hook Error: EmailPreSend \(includes\/hooks, priority 1\): boom/);
  });

  it('traces every dispatch in order, with a summary of the vars, and removes a source on demand', async () => {
    const { hooks } = manager();
    hooks.add('InvoiceCreation', 1, () => undefined, 'overusage');
    await hooks.run('PreCronJob');
    await hooks.run('InvoiceCreation', {
      source: 'autogen',
      user: 'system',
      invoiceid: 5,
      status: 'Unpaid',
      invoice: { big: true },
    });
    await hooks.run('PreModuleSuspend', { params: { serviceid: 9, userid: 2, clientsdetails: {} } });
    expect(hooks.fired()).to.deep.equal(['PreCronJob', 'InvoiceCreation', 'PreModuleSuspend']);
    expect(hooks.trace()[1]!.vars).to.deep.equal({
      source: 'autogen',
      user: 'system',
      invoiceid: 5,
      status: 'Unpaid',
    });
    expect(hooks.trace()[2]!.vars).to.deep.equal({ params: { serviceid: 9, userid: 2 } });
    expect(hooks.removeSource('overusage')).to.equal(1);
    expect(hooks.registered()).to.deep.equal([]);
  });
});
