import { expect } from 'chai';
import {
  checkTransition,
  DISPUTE_STATES,
  isFinal,
  parseDisputeState,
  parseResolvingTo,
  parseSettlement,
  RESOLUTIONS,
  type DisputeActor,
} from '../../module/domain/dispute-state.js';
import {
  assertHoldStep,
  canHold,
  HOLD_STATES,
  holdAfterDecision,
  parseHoldState,
} from '../../module/domain/hold-state.js';
import {
  assertLineStep,
  canMoveLine,
  isDisputable,
  LINE_STATUSES,
  parseLineStatus,
} from '../../module/domain/line-status.js';
import { ModuleError } from '../../module/domain/errors.js';

// Every pair of states is asked, and compared with the steps written out here by hand from the
// product's rules (docs/architecture.md, "From a SolusVM counter to a dispute's end") — not read back from the tables.
const pairs = <T extends string>(all: readonly T[]): Array<[T, T]> =>
  all.flatMap((a) => all.map((b) => [a, b] as [T, T]));

describe('state tables', () => {
  describe('a dispute', () => {
    // open → upheld | waived | adjusted by the admin; open → withdrawn by the client or the admin;
    // open → voided by the system alone (the line's invoice was cancelled or refunded:
    // docs/billing-rules.md, "Cancelled and refunded invoices"); nothing leaves a resolved dispute.
    const allowed: Record<string, DisputeActor[]> = {
      'open>upheld': ['admin'],
      'open>waived': ['admin'],
      'open>adjusted': ['admin'],
      'open>withdrawn': ['client', 'admin'],
      'open>voided': ['system'],
    };
    for (const [from, to] of pairs(DISPUTE_STATES)) {
      if (to === 'open') continue;
      for (const actor of ['client', 'admin', 'system'] as const) {
        const ok = (allowed[`${from}>${to}`] ?? []).includes(actor);
        it(`${ok ? 'lets' : 'does not let'} the ${actor} make an ${from} dispute ${to}`, () => {
          const check = checkTransition(from, to, actor);
          expect(check.ok).to.equal(ok);
          if (!check.ok)
            expect(check.code).to.equal(allowed[`${from}>${to}`] ? 'NOT_ALLOWED' : 'INVALID_TRANSITION');
        });
      }
    }
    it('is final once resolved, and only then', () => {
      expect(DISPUTE_STATES.filter(isFinal)).to.deep.equal([
        'upheld',
        'waived',
        'adjusted',
        'withdrawn',
        'voided',
      ]);
    });
    it('refuses a step to a state that is no resolution, saying so', () => {
      // 'open' is no resolution: nothing may make an open dispute open again
      expect(checkTransition('open', 'open' as never, 'admin')).to.deep.equal({
        ok: false,
        code: 'INVALID_TRANSITION',
        message: 'a dispute cannot become open',
      });
    });
    it('reads a stored settlement, or none, and names the column of another', () => {
      expect(parseSettlement('crediting')).to.equal('crediting');
      expect(parseSettlement(null)).to.equal(null);
      expect(() => parseSettlement('paid')).to.throw(
        'mod_overusage_disputes.settlement holds "paid", which is not one of credit, refund, crediting, credited',
      );
    });
    it('says what a refused step was', () => {
      expect(checkTransition('waived', 'upheld', 'admin')).to.deep.include({
        ok: false,
        message: 'the dispute is already waived',
      });
      expect(checkTransition('open', 'upheld', 'client')).to.deep.include({
        ok: false,
        message: 'only admin may make a dispute upheld',
      });
      expect(checkTransition('open', 'withdrawn', 'system')).to.deep.include({
        ok: false,
        code: 'NOT_ALLOWED',
        message: 'only client or admin may make a dispute withdrawn',
      });
    });
  });

  describe("a disputed line's hold", () => {
    // holding → held (moved to a draft of its own) or refund_decision (paid first);
    // held → published (upheld, adjusted, withdrawn) or released (waived, voided); holding →
    // released (voided before the line moved); the rest are ends.
    const steps = new Set([
      'holding>held',
      'holding>refund_decision',
      'holding>released',
      'held>published',
      'held>released',
    ]);
    for (const [from, to] of pairs(HOLD_STATES)) {
      const ok = steps.has(`${from}>${to}`);
      it(`${ok ? 'goes' : 'never goes'} from ${from} to ${to}`, () => {
        expect(canHold(from, to)).to.equal(ok);
        if (ok) expect(() => assertHoldStep(from, to)).not.to.throw();
        else {
          expect(() => assertHoldStep(from, to)).to.throw(
            ModuleError,
            `a held line cannot go from ${from} to ${to}`,
          );
          expect(() => assertHoldStep(from, to))
            .to.throw(ModuleError)
            .with.property('details')
            .that.deep.equals({ from, to });
        }
      });
    }
    it('refuses a step it does not have as an unexpected state (a bug or a concurrent change)', () => {
      expect(() => assertHoldStep('released', 'held'))
        .to.throw(ModuleError)
        .with.property('code', 'UNEXPECTED_STATE');
    });
    it('ends released after a waiver or a voiding and published after any other decision, when it was held', () => {
      // upheld, waived, adjusted, withdrawn, voided
      expect(RESOLUTIONS.map((r) => holdAfterDecision('held', r))).to.deep.equal([
        'published',
        'released',
        'published',
        'published',
        'released',
      ]);
    });
    it('ends released when voided before the line moved (nothing was held)', () => {
      expect(holdAfterDecision('holding', 'voided')).to.equal('released');
    });
    it('stays holding after any other decision before the line moved, so the sweep still moves it', () => {
      // upheld, waived, adjusted, withdrawn: only a voiding ends a hold that never held anything
      expect(
        RESOLUTIONS.filter((r) => r !== 'voided').map((r) => holdAfterDecision('holding', r)),
      ).to.deep.equal(['holding', 'holding', 'holding', 'holding']);
    });
    it('stays where it is after a decision when the invoice was paid before the hold', () => {
      expect(RESOLUTIONS.map((r) => holdAfterDecision('refund_decision', r))).to.deep.equal([
        'refund_decision',
        'refund_decision',
        'refund_decision',
        'refund_decision',
        'refund_decision',
      ]);
    });
  });

  describe("a line's status", () => {
    // pending → placed; placed → held (disputed, unpaid) or waived (disputed, paid, waived);
    // held → placed (upheld, adjusted, withdrawn) or waived; waived is the end.
    const steps = new Set(['pending>placed', 'placed>held', 'placed>waived', 'held>placed', 'held>waived']);
    for (const [from, to] of pairs(LINE_STATUSES)) {
      const ok = steps.has(`${from}>${to}`);
      it(`${ok ? 'goes' : 'never goes'} from ${from} to ${to}`, () => {
        expect(canMoveLine(from, to)).to.equal(ok);
        if (ok) expect(() => assertLineStep(from, to)).not.to.throw();
        else {
          expect(() => assertLineStep(from, to)).to.throw(
            ModuleError,
            `a line cannot go from ${from} to ${to}`,
          );
          expect(() => assertLineStep(from, to))
            .to.throw(ModuleError)
            .with.property('details')
            .that.deep.equals({ from, to });
        }
      });
    }
    it('refuses a step it does not have as an unexpected state (a bug or a concurrent change)', () => {
      expect(() => assertLineStep('waived', 'placed'))
        .to.throw(ModuleError)
        .with.property('code', 'UNEXPECTED_STATE');
    });
    it('can be disputed only while billed', () => {
      expect(LINE_STATUSES.filter(isDisputable)).to.deep.equal(['placed', 'held']);
    });
  });

  describe('values read back from the database', () => {
    it('are taken when they are words of the table', () => {
      expect(parseDisputeState('open')).to.equal('open');
      expect(parseResolvingTo(null)).to.equal(null);
      expect(parseResolvingTo('waived')).to.equal('waived');
      expect(parseHoldState('refund_decision')).to.equal('refund_decision');
      expect(parseLineStatus('held')).to.equal('held');
      // a column the database left empty (no row value at all) is no resolution either
      expect(parseResolvingTo(undefined)).to.equal(null);
    });
    it('say which column held what, and which words it may hold', () => {
      expect(() => parseLineStatus('released'))
        .to.throw(
          ModuleError,
          'mod_overusage_lines.status holds "released", which is not one of pending, placed, held, waived',
        )
        .with.property('details')
        .that.deep.equals({ column: 'mod_overusage_lines.status', value: 'released' });
    });
    for (const [parse, value, column] of [
      [parseDisputeState, 'closed', 'mod_overusage_disputes.state'],
      [parseResolvingTo, 'open', 'mod_overusage_disputes.resolving_to'],
      [parseHoldState, 'none', 'mod_overusage_disputes.hold_state'],
      [parseLineStatus, 'released', 'mod_overusage_lines.status'],
      [parseLineStatus, 'Placed', 'mod_overusage_lines.status'],
      [parseLineStatus, 3, 'mod_overusage_lines.status'],
    ] as const) {
      it(`are refused as UNEXPECTED_STATE when ${column} holds ${JSON.stringify(value)}`, () => {
        try {
          (parse as (v: unknown) => unknown)(value);
          expect.fail('no error');
        } catch (err) {
          expect(err).to.be.instanceOf(ModuleError);
          expect((err as ModuleError).code).to.equal('UNEXPECTED_STATE');
          expect((err as ModuleError).message).to.contain(column);
        }
      });
    }
  });
});
