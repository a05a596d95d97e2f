import { expect } from 'chai';
import type { Knex } from 'knex';
import { toNum } from '../../module/adapters/rows.js';
import type { OverusageModule } from '../../module/index.js';
import { PANEL_SUSPEND_REASON } from '../../module/services/limit-actions.js';
import { addService } from '../../panel/records.js';
import type { SimMaster, Simulator } from '../../simulator/index.js';
import { describeEachEngine } from '../support/engines.js';
import { buildSimStory } from '../support/sim-story.js';
import { ADMIN_ACTOR as ADMIN, CLI_ACTOR } from '../support/module-fixture.js';
import { ZONE, type PanelFixture, type Story } from '../panel/support.js';

const GB = 10n ** 9n;

/**
 * Threshold notices and the policy at the limit, end to end: the reference panel (its API and
 * email log), the module on its cron hooks, and a SolusVM simulator of each version over HTTP.
 * One story per version, day by day through May and into June 2013; each server plays one part:
 *
 *   A  10 GB/day, 100 GB, bill      thresholds one by one, and again after the reset
 *   B  85 GB/day, 100 GB, bill      Dutch client: 80 %, then 90 and 100 % at once
 *   C  10 GB/day, 100 GB, suspend   applied; lifted when the admin raises the allowance; again; lifted by the reset
 *   D  10 GB/day, 100 GB, throttle  the same, with the throttle
 *   G  10 GB/day, 170 GB, suspend   SolusVM down while acting: retried, audited, taken once
 *   H  10 GB/day, 190 GB, suspend   SolusVM suspended it itself: recorded, not fought
 *   I  10 GB/day, 220 GB, suspend   unsuspended behind our back: not suspended again
 */
describeEachEngine(
  'threshold notices and the policy at the limit against the SolusVM simulator',
  ({ db }) => {
    for (const version of [1, 2] as const) {
      describe(`SolusVM ${version}`, function () {
        this.timeout(120_000);
        let knex: Knex;
        let f: PanelFixture;
        let story: Story;
        let mod: OverusageModule;
        let sim: Simulator;
        let m: SimMaster;
        const svc: Record<string, number> = {};
        const ref: Record<string, number> = {};
        const domain = (k: string) => `vps-${k.toLowerCase()}${version}.example.net`;

        before(async () => {
          knex = db().knex;
          const built = await buildSimStory(knex, version);
          ({ f, story, sim, m, mod } = built);
          const added = { id: built.masterId };
          await knex('tblconfiguration')
            .insert({ setting: 'CompanyName', value: 'Hosting BV' })
            .onConflict('setting')
            .merge();
          await mod.billing.setProduct(
            story.productId,
            { unit: 'GB', model: 'per_unit', allowance: '5 TB', prices: { EUR: { overage: '0.50' } } },
            CLI_ACTOR,
          );

          const parts: Array<[string, bigint, string, 'bill' | 'throttle' | 'suspend', boolean]> = [
            ['A', 10n, '100 GB', 'bill', false],
            ['B', 85n, '100 GB', 'bill', true],
            ['C', 10n, '100 GB', 'suspend', false],
            ['D', 10n, '100 GB', 'throttle', false],
            ['G', 10n, '170 GB', 'suspend', false],
            ['H', 10n, '190 GB', 'suspend', false],
            ['I', 10n, '220 GB', 'suspend', false],
          ];
          let id = 100;
          for (const [k, perDay, allowance, action, dutch] of parts) {
            ref[k] = id;
            m.addServer({
              id,
              hostname: domain(k),
              node: { id: 1, name: 'node-1' },
              clientId: 7,
              type: 'kvm',
              limitBytes: 0n,
              createdAt: '2012-01-01T00:00:00Z',
              profile: { kind: 'constant', bytesPerDay: perDay * GB },
            });
            const clientId = dutch ? story.dutchClientId : story.clientId;
            svc[k] = await addService(
              knex,
              {
                userid: clientId,
                packageid: story.productId,
                domain: domain(k),
                regdate: '2013-01-09',
                nextduedate: '2013-06-09',
                amount: '19.95',
              },
              f.clock.now(),
              ZONE,
            );
            await mod.links.link(
              {
                serviceId: svc[k]!,
                clientId,
                productId: story.productId,
                masterId: added.id,
                serverRef: String(id),
              },
              CLI_ACTOR,
            );
            await mod.billing.setServiceOverride(
              svc[k]!,
              { allowance, limitPolicy: action === 'throttle' ? { action, throttleMbps: 10 } : { action } },
              CLI_ACTOR,
            );
            id++;
          }
        });

        after(async () => {
          await mod?.close();
          await sim?.close();
        });

        const afterCron = () =>
          mod
            .hooks()
            .find((h) => h.name === 'AfterCronJob')!
            .handler({});
        /** the evening cron on a day of the story: samples, then the usage watch */
        async function evening(date: string): Promise<void> {
          f.clock.set(`${date}T21:50:00Z`);
          await afterCron();
        }
        /** a later 5-minute tick: no sampling, only what is due */
        async function tick(at: string): Promise<void> {
          f.clock.set(at);
          await afterCron();
        }
        async function days(from: number, to: number, month = '05'): Promise<void> {
          for (let d = from; d <= to; d++) await evening(`2013-${month}-${String(d).padStart(2, '0')}`);
        }
        const clientMails = (k: string) =>
          knex('tblemails')
            .where('subject', 'like', `${domain(k)}:%`)
            .orderBy('id')
            .select('subject', 'message', 'userid');
        const adminMails = (k: string) =>
          knex('tblemails')
            .where('subject', 'like', `Overusage:%(${domain(k)})%`)
            .orderBy('id')
            .select('subject', 'message');
        const actions = (k: string) =>
          knex('mod_overusage_limit_actions').where({ service_id: svc[k] }).orderBy('id');
        const audit = (k: string, action: string) =>
          knex('mod_overusage_audit as a')
            .join('mod_overusage_limit_actions as l', knex.raw('a.entity_id = CAST(l.id AS CHAR)'))
            .where('a.entity_type', 'limit_action')
            .andWhere('l.service_id', svc[k]!)
            .andWhere('a.action', action);
        const panelStatus = async (k: string) => {
          const r = await knex('tblhosting').where({ id: svc[k] }).first('domainstatus', 'suspendreason');
          return { status: r.domainstatus as string, reason: (r.suspendreason ?? '') as string };
        };
        const server = (k: string) => m.server(ref[k]!)!;
        const suspendCalls = () => {
          const s = m.stats().byAction;
          return (version === 1 ? s['vserver-suspend'] : s['POST /servers/{id}/suspend']) ?? 0;
        };

        it('tells the client and the admin at 80, 90 and 100 %, one threshold at a time, each once however often metering runs', async () => {
          await days(1, 8);
          expect(await clientMails('A')).to.have.length(0);
          await evening('2013-05-09');
          // the same evening's run repeated five times, by the hook and by hand
          for (let i = 0; i < 5; i++) {
            await afterCron();
            await mod.metering.collect();
            await mod.watchUsage({ collected: true });
          }
          let mails = await clientMails('A');
          expect(mails.map((x) => x.subject)).to.deep.equal([
            `${domain('A')}: 80% of your traffic allowance used`,
          ]);
          expect(toNum(mails[0]!.userid)).to.equal(story.clientId);
          await days(10, 11);
          mails = await clientMails('A');
          expect(mails.map((x) => x.subject)).to.deep.equal([
            `${domain('A')}: 80% of your traffic allowance used`,
            `${domain('A')}: 90% of your traffic allowance used`,
            `${domain('A')}: your traffic allowance is used up`,
          ]);
          // traffic so far, the run-out day and the projected cost at the overage rate, in English, in the unit
          // sold (GB) with 2 decimals: 1 May 00:00 Brussels (30 April 22:00Z) to 9 May 21:50Z is 9 days less
          // 10 minutes = 12 950/1 440 = 8.993 days × 10 GB = 89.9306 GB → "89.93 GB"; over 9 days 9.9923 GB a
          // day → "9.99 GB"; × 31 days = 309.761 GB → "309.76 GB"
          expect(mails[0]!.message).to.include(
            'has used 89.93 GB of the 100.00 GB of traffic included in your plan for 1 – 31 May 2013 (89.9%), measured up to and including 9 May 2013.',
          );
          expect(mails[0]!.message).to.include(
            'At the pace so far (9.99 GB a day on average), the allowance runs out on 11 May 2013, with about 309.76 GB used by then.',
          );
          expect(mails[0]!.message).to.include(
            'Traffic over the allowance is billed at €0.50 per GB on your next invoice. At this pace that comes to about €104.88 for this period.',
          );
          expect((await adminMails('A')).map((x) => x.subject)).to.deep.equal([
            `Overusage: Ann Admin (${domain('A')}) at 80% of the traffic allowance`,
            `Overusage: Ann Admin (${domain('A')}) at 90% of the traffic allowance`,
            `Overusage: Ann Admin (${domain('A')}) at 100% of the traffic allowance`,
          ]);
          const notices = await knex('mod_overusage_notices')
            .where({ service_id: svc.A, kind: 'threshold' })
            .orderBy('id');
          expect(notices.map((n) => [n.notice_key.replace(/^period:\d+:/, ''), n.status])).to.deep.equal([
            ['80', 'sent'],
            ['90', 'sent'],
            ['100', 'sent'],
          ]);
        });

        it('sends one notice naming the highest when several thresholds are crossed at once, in Dutch for a Dutch client', async () => {
          const mails = await clientMails('B');
          expect(mails.map((x) => x.subject)).to.deep.equal([
            `${domain('B')}: 80% van uw dataverkeer verbruikt`,
            `${domain('B')}: uw dataverkeer is op`,
          ]);
          expect(toNum(mails[1]!.userid)).to.equal(story.dutchClientId);
          expect(mails[0]!.message).to.include('Beste Jan,');
          // 30 April 22:00Z to 1 May 21:50Z = 1 430 of 1 440 minutes × 85 GB = 84.4097 GB → "84,41 GB"
          expect(mails[0]!.message).to.include(
            'heeft 84,41 GB verbruikt van de 100,00 GB dataverkeer in uw pakket voor 1–31 mei 2013 (84,4%)',
          );
          expect(mails[0]!.message).to.include(
            'Dataverkeer boven de bundel wordt gefactureerd aan €&nbsp;0,50 per GB op uw volgende factuur.'.replace(
              '&nbsp;',
              '\u00a0',
            ),
          );
          const notices = await knex('mod_overusage_notices')
            .where({ service_id: svc.B, kind: 'threshold' })
            .orderBy('id');
          expect(notices.map((n) => n.notice_key.replace(/^period:\d+:/, ''))).to.deep.equal(['80', '100']);
          expect(JSON.parse(notices[1]!.details).covers).to.deep.equal([90, 100]);
          // the admin is told in English, once per notice
          expect((await adminMails('B')).map((x) => x.subject)).to.deep.equal([
            `Overusage: Jan Peeters (${domain('B')}) at 80% of the traffic allowance`,
            `Overusage: Jan Peeters (${domain('B')}) at 100% of the traffic allowance`,
          ]);
          // the widget's banner reads the same
          const banner = await mod.thresholds!.bannerFor(svc.B!);
          expect(banner).to.deep.include({
            pct: 100,
            covers: [90, 100],
            noticeStatus: 'sent',
            policy: 'bill',
            limitAction: null,
          });
          expect(banner!.runOut).to.deep.equal({ kind: 'reached' });
        });

        it('suspends and throttles at 100 %, visible in SolusVM and (the suspension) in the panel', async () => {
          expect(server('C').suspended).to.equal(true);
          expect(await panelStatus('C')).to.deep.equal({ status: 'Suspended', reason: PANEL_SUSPEND_REASON });
          if (version === 1) expect(server('D').nspeed).to.equal(10);
          else {
            expect(server('D').limits.network_incoming_bandwidth).to.deep.equal({
              is_enabled: true,
              limit: 10,
              unit: 'Mbps',
            });
            expect(server('D').limits.network_outgoing_bandwidth).to.deep.equal({
              is_enabled: true,
              limit: 10,
              unit: 'Mbps',
            });
            expect(server('D').plan.id).to.equal(1);
          }
          expect(server('D').suspended).to.equal(false);
          expect(await panelStatus('D')).to.deep.equal({ status: 'Active', reason: '' });
          expect((await actions('C')).map((a) => [a.action, a.status, a.panel_state])).to.deep.equal([
            ['suspend', 'applied', 'suspended'],
          ]);
          expect((await actions('D')).map((a) => [a.action, a.status])).to.deep.equal([
            ['throttle', 'applied'],
          ]);
          expect(await audit('C', 'limit.applied')).to.have.length(1);
          const banner = await mod.thresholds!.bannerFor(svc.C!);
          expect(banner!.limitAction).to.deep.include({ action: 'suspend', status: 'applied' });
          expect(suspendCalls()).to.equal(1);
        });

        it('lifts both when the admin raises the allowance, and applies them again when the raised allowance is used up', async () => {
          await mod.billing.setServiceOverride(
            svc.C!,
            { allowance: '150 GB', limitPolicy: { action: 'suspend' } },
            ADMIN,
          );
          await mod.billing.setServiceOverride(
            svc.D!,
            { allowance: '150 GB', limitPolicy: { action: 'throttle', throttleMbps: 10 } },
            ADMIN,
          );
          await tick('2013-05-12T08:00:00Z');
          expect(server('C').suspended).to.equal(false);
          expect(await panelStatus('C')).to.deep.equal({ status: 'Active', reason: '' });
          if (version === 1) expect(server('D').nspeed).to.equal(0);
          else expect(server('D').limits.network_incoming_bandwidth!.is_enabled).to.equal(false);
          expect((await actions('C')).map((a) => [a.status, a.lift_reason, a.panel_state])).to.deep.equal([
            ['lifted', 'allowance_raised', 'restored'],
          ]);
          await days(12, 15);
          expect(server('C').suspended).to.equal(false);
          await evening('2013-05-16');
          expect(server('C').suspended).to.equal(true);
          if (version === 1) expect(server('D').nspeed).to.equal(10);
          else
            expect(server('D').limits.network_incoming_bandwidth).to.deep.equal({
              is_enabled: true,
              limit: 10,
              unit: 'Mbps',
            });
          expect((await actions('C')).map((a) => [a.status, a.allowance_bytes.toString()])).to.deep.equal([
            ['lifted', String(100n * GB)],
            ['applied', String(150n * GB)],
          ]);
          expect(suspendCalls()).to.equal(2);
        });

        it('retries when SolusVM is down while acting, audits the failure, and takes the action once', async () => {
          await days(16 + 1, 17);
          // the evening G reaches 170 GB: its sample is read, then SolusVM stops answering for it
          await m.setFaults({ down: true, onlyServers: [ref.G!], failAfterRequests: 1 });
          await evening('2013-05-18');
          let rows = await actions('G');
          expect(rows.map((a) => [a.status, toNum(a.attempts)])).to.deep.equal([['pending', 1]]);
          expect(rows[0]!.last_error).to.be.a('string').and.not.equal('');
          expect(await audit('G', 'limit.attempt_failed')).to.have.length(1);
          expect(server('G').suspended).to.equal(false);
          // not before its backoff (5 minutes) …
          await tick('2013-05-18T21:52:00Z');
          expect(toNum((await actions('G'))[0]!.attempts)).to.equal(1);
          // … and then on a later tick, once SolusVM answers again
          await m.clearFaults();
          await tick('2013-05-18T21:56:00Z');
          rows = await actions('G');
          expect(rows.map((a) => [a.status, toNum(a.attempts)])).to.deep.equal([['applied', 1]]);
          expect(server('G').suspended).to.equal(true);
          expect(await audit('G', 'limit.applied')).to.have.length(1);
          const calls = suspendCalls();
          for (const at of ['2013-05-18T22:05:00Z', '2013-05-18T22:30:00Z', '2013-05-19T06:00:00Z'])
            await tick(at);
          await evening('2013-05-19');
          expect(suspendCalls()).to.equal(calls);
          expect(await actions('G')).to.have.length(1);
        });

        it('records a suspension SolusVM made itself and never fights it', async () => {
          // SolusVM's own auto-suspend at its limit, the evening before we would act
          m.setState(ref.H!, 'disabled');
          const calls = suspendCalls();
          await evening('2013-05-20');
          expect((await actions('H')).map((a) => [a.status, a.panel_state])).to.deep.equal([
            ['observed', 'none'],
          ]);
          expect(await audit('H', 'limit.observed')).to.have.length(1);
          expect(await panelStatus('H')).to.deep.equal({ status: 'Active', reason: '' });
          // SolusVM lets it go again mid-period: we do not suspend it
          m.setState(ref.H!, 'online');
          await days(21, 22);
          expect(server('H').suspended).to.equal(false);
          expect(suspendCalls()).to.equal(calls);
          expect(await actions('H')).to.have.length(1);
        });

        it('does not suspend again a VPS someone unsuspended mid-period after we suspended it', async () => {
          await evening('2013-05-23');
          expect(server('I').suspended).to.equal(true);
          expect(await panelStatus('I')).to.deep.include({ status: 'Suspended' });
          const calls = suspendCalls();
          // an admin unsuspends it in SolusVM
          m.setState(ref.I!, 'online');
          await days(24, 26);
          expect(server('I').suspended).to.equal(false);
          expect(suspendCalls()).to.equal(calls);
          expect((await actions('I')).map((a) => [a.status, a.panel_state])).to.deep.equal([
            ['released', 'restored'],
          ]);
          expect(await panelStatus('I')).to.deep.equal({ status: 'Active', reason: '' });
          expect(await audit('I', 'limit.released')).to.have.length(1);
        });

        it('lifts every action when the next period starts, and tells the thresholds again in the new period', async () => {
          await days(27, 31);
          expect(server('C').suspended).to.equal(true);
          await evening('2013-06-01');
          expect(server('C').suspended).to.equal(false);
          expect(server('G').suspended).to.equal(false);
          if (version === 1) expect(server('D').nspeed).to.equal(0);
          else expect(server('D').limits.network_incoming_bandwidth!.is_enabled).to.equal(false);
          for (const k of ['C', 'D', 'G']) {
            const last = (await actions(k)).at(-1)!;
            expect([k, last.status, last.lift_reason]).to.deep.equal([k, 'lifted', 'next_period']);
          }
          expect(await panelStatus('C')).to.deep.equal({ status: 'Active', reason: '' });
          // SolusVM's own suspension and the one undone behind our back are left alone
          expect((await actions('H')).map((a) => a.status)).to.deep.equal(['observed']);
          expect((await actions('I')).map((a) => a.status)).to.deep.equal(['released']);

          await days(2, 11, '06');
          const a = (await clientMails('A')).map((x) => x.subject);
          expect(a).to.have.length(6);
          expect(a.slice(3)).to.deep.equal([
            `${domain('A')}: 80% of your traffic allowance used`,
            `${domain('A')}: 90% of your traffic allowance used`,
            `${domain('A')}: your traffic allowance is used up`,
          ]);
          expect((await clientMails('B')).map((x) => x.subject).slice(2)).to.deep.equal([
            `${domain('B')}: 80% van uw dataverkeer verbruikt`,
            `${domain('B')}: uw dataverkeer is op`,
          ]);
          const banner = await mod.thresholds!.bannerFor(svc.A!);
          expect(banner).to.deep.include({ pct: 100, periodStart: '2013-06-01', periodEnd: '2013-06-30' });
        });
      });
    }
  },
);
