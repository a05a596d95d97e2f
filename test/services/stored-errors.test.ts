import { expect } from 'chai';
import type { Knex } from 'knex';
import { addServer } from '../../panel/records.js';
import { PanelApiError } from '../../module/adapters/panel-api.js';
import { errorKind } from '../../module/adapters/rows.js';
import { toNum } from '../../module/adapters/rows.js';
import { describeEachEngine } from '../support/engines.js';
import { buildBillingStory, GB, STORY_EUR, type BillingStory } from '../support/billing-story.js';
import { logInto } from '../support/log-lines.js';
import { loggedWebStory, pageText } from '../support/web-story.js';
import { CLI_ACTOR } from '../support/module-fixture.js';

/**
 * Errors the module keeps in its tables (an email's, a notice's, a sync issue's last error) and
 * shows an admin are what failed and the error's kind (class, kind, code, panel command, errno, SQL
 * state), never the error's own words: a panel's, a mail server's or a database's words can quote
 * a client's data. Each failure below quotes Ann's private address, PLANTED; it must be in no
 * stored error, no page, no answer and no log line.
 */
const PLANTED = 'ann.private-h17@example.net';

describeEachEngine('errors kept for an admin', ({ db, engine }) => {
  describe('a threshold notice', () => {
    let knex: Knex;
    let s: BillingStory;
    const lines: Array<Record<string, unknown>> = [];

    beforeEach(async () => {
      knex = db().knex;
      lines.length = 0;
      s = await buildBillingStory(knex, STORY_EUR, { log: logInto(lines) });
    });

    /** the evening of 20 May: VPS 101 (Ann's) at `used` of its 5 000 GB, then metering and the usage watch */
    async function evening(used: bigint): Promise<void> {
      s.f.clock.set('2013-05-20T21:50:00Z');
      s.fake.set('101', used);
      s.fake.set('102', 1n * GB);
      await s.mod.metering.collect();
      await s.mod.watchUsage({ collected: true });
    }
    const refusal = (command: string) =>
      new PanelApiError('api', `SMTP Error: 550 5.1.1 <${PLANTED}>: Recipient address rejected`, { command });

    /**
     * Ann at 4 100 GB of 5 000 GB is 82 %: the 80 % notice is decided, and its two emails go to the
     * outbox. The panel refuses Ann's email (SendEmail) with an SMTP error quoting her address; the
     * admin's goes. Before: the outbox row kept the panel's words (her address) as its last error.
     */
    it('keeps the kind of a refused email, not the mail server’s words quoting the address', async () => {
      const { sendEmail } = s.faulty.real;
      s.faulty.real.sendEmail = async () => {
        throw refusal('SendEmail');
      };
      await evening(4100n * GB);
      s.faulty.real.sendEmail = sendEmail;
      const outbox = await knex('mod_overusage_outbox')
        .where('message_key', 'like', 'threshold:%')
        .orderBy('id');
      expect(outbox.map((o) => [o.audience, o.status, toNum(o.attempts), o.last_error])).to.deep.equal([
        ['client', 'failed', 1, 'the email was not sent: PanelApiError api (command SendEmail)'],
        ['admin', 'sent', 1, null],
      ]);
      const waiting = await s.mod.outbox!.waiting();
      expect(waiting.map((w) => [w.kind, w.attempts, w.lastError])).to.deep.equal([
        ['threshold', 1, 'the email was not sent: PanelApiError api (command SendEmail)'],
      ]);
      const failed = lines.filter((l) => l.event === 'outbox.send_failed');
      expect(failed.map((l) => l.error)).to.deep.equal([
        'the email was not sent: PanelApiError api (command SendEmail)',
      ]);
      expect(JSON.stringify(lines)).not.to.include(PLANTED);
      expect(JSON.stringify(await knex('mod_overusage_outbox').select('last_error'))).not.to.include(PLANTED);
    });

    /**
     * The same 82 %, but the panel cannot give Ann's details (GetClientsDetails) when the notice is
     * told, and its words quote her address: the notice stays failed (attempt 1) with what failed
     * and the kind as its last error. Before: the notice kept the panel's words.
     */
    it('keeps the kind of a failed delivery in the notice, not the panel’s words', async () => {
      const { getClientsDetails } = s.faulty.real;
      s.faulty.real.getClientsDetails = async () => {
        throw refusal('GetClientsDetails');
      };
      await evening(4100n * GB);
      s.faulty.real.getClientsDetails = getClientsDetails;
      const [notice] = await knex('mod_overusage_notices').where({
        kind: 'threshold',
        service_id: s.story.serviceId,
      });
      expect(notice.status).to.equal('failed');
      const details = typeof notice.details === 'string' ? JSON.parse(notice.details) : notice.details;
      expect([details.pct, details.delivery.attempts, details.delivery.lastError]).to.deep.equal([
        80,
        1,
        "the notice's emails were not queued: PanelApiError api (command GetClientsDetails)",
      ]);
      expect(lines.filter((l) => l.event === 'threshold_notice.failed').map((l) => l.error)).to.deep.equal([
        "the notice's emails were not queued: PanelApiError api (command GetClientsDetails)",
      ]);
      expect(JSON.stringify(lines)).not.to.include(PLANTED);
      expect(String(notice.details)).not.to.include(PLANTED);
    });

    /**
     * A real refusal of each engine's driver: a second settings row under the same key. The error's
     * own words name the key ('Duplicate entry 'h17-key' …' on MariaDB, 'UNIQUE constraint failed'
     * with the column on SQLite); its kind is the driver's code, errno and SQL state only.
     */
    it("gives a driver's duplicate key as its code, not its words", async () => {
      const row = { name: 'h17-key', value: '"x"', updated_at: '2013-05-20 10:00:00.000' };
      await knex('mod_overusage_settings').insert(row);
      const err = await knex('mod_overusage_settings')
        .insert(row)
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(errorKind(err)).to.equal(
        engine === 'sqlite'
          ? 'SqliteError SQLITE_CONSTRAINT_PRIMARYKEY'
          : 'Error ER_DUP_ENTRY (errno 1062, SQL state 23000)',
      );
      expect((err as Error).message).to.include(
        engine === 'sqlite' ? 'mod_overusage_settings.name' : 'h17-key',
      );
    });
  });

  describe("the panel sync's issues", () => {
    const w = loggedWebStory(db);
    // the database's refusal of the new link, as a driver words it: quoting the row
    const MESSAGE = `Duplicate entry ''${PLANTED}'' for key ''planted''`;
    // the kind each engine's driver gives for a trigger's refusal: better-sqlite3's SqliteError with
    // SQLite's code for a RAISE (no errno), MariaDB's SIGNAL (errno 1644, SQL state 45000)
    const KIND =
      engine === 'sqlite'
        ? 'SqliteError SQLITE_CONSTRAINT_TRIGGER'
        : 'Error ER_SIGNAL_EXCEPTION (errno 1644, SQL state 45000)';

    /**
     * Ann's and Jan's VPSs are on a server entry mapped to the master (vserverid 101 and 102), not
     * linked yet; the database refuses each new link with words quoting PLANTED. The sync keeps one
     * issue each, 'the link was not saved: ' and the driver's kind; the admin's API and the Services
     * page show that, never the words. Before: the issue was the driver's message.
     */
    it('keeps what failed and its kind when the database refuses a link', async () => {
      const knex = db().knex;
      await knex('mod_overusage_services').delete();
      const serverId = await addServer(knex, {
        name: 'solus-nl',
        type: 'solusvmpro',
        hostname: 'solus.example.net',
      });
      await knex('tblhosting').update({ server: serverId });
      const master = await knex('mod_overusage_masters').first('id');
      await w.s.mod.masters.update(toNum(master.id), { panelServerId: serverId }, CLI_ACTOR);
      await knex.raw(
        engine === 'sqlite'
          ? `CREATE TRIGGER h_errors_refuse BEFORE INSERT ON mod_overusage_services BEGIN SELECT RAISE(ABORT, '${MESSAGE}'); END`
          : `CREATE TRIGGER h_errors_refuse BEFORE INSERT ON mod_overusage_services FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '${MESSAGE}'`,
      );
      try {
        const out = await w.s.mod.sync!.sync();
        const reason = `the link was not saved: ${KIND}`;
        expect(out.linked).to.equal(0);
        expect(out.skipped.map((x) => [x.serviceId, x.reason])).to.deep.equal([
          [w.s.ann.serviceId, reason],
          [w.s.jan.serviceId, reason],
        ]);
        const api = await w.api('admin', '/sync-issues');
        expect(api.status).to.equal(200);
        expect(
          api.body.notLinked.map((x: { serviceId: number; reason: string }) => [x.serviceId, x.reason]),
        ).to.deep.equal([
          [w.s.ann.serviceId, reason],
          [w.s.jan.serviceId, reason],
        ]);
        const page = await w.adminPage('services');
        expect(page.status).to.equal(200);
        expect(pageText(page.text)).to.include(`vps1.example.net ${reason}`);
        for (const text of [api.text, page.text, JSON.stringify(w.logged)])
          expect(text).not.to.include(PLANTED);
      } finally {
        await knex.raw('DROP TRIGGER h_errors_refuse');
      }
    });
  });
});
