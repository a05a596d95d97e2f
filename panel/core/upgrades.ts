import { intCell, textCell } from '../db/rows.js';
import type { PanelCore, When } from './context.js';

/** Carries out paid upgrades: the service moves to the new product at the new recurring price; AfterProductUpgrade runs once per upgrade. */
export async function completeUpgrades(
  core: PanelCore,
  upgradeIds: readonly number[],
  when: When,
): Promise<void> {
  for (const id of upgradeIds) {
    const done = await core.knex.transaction(async (trx) => {
      const u = await trx('tblupgrades').where({ id, status: 'Pending' }).forUpdate().first();
      if (!u) return null;
      const [productId, cycle] = textCell(u.newvalue).split(',');
      await trx('tblhosting')
        .where({ id: intCell(u.relid) })
        .update({
          packageid: Number(productId),
          billingcycle: cycle,
          amount: textCell(u.new_recurring_amount),
        });
      await trx('tblupgrades').where({ id }).update({ status: 'Completed', paid: 'Y' });
      return { serviceId: intCell(u.relid), userid: intCell(u.userid) };
    });
    if (!done) continue;
    await core.activity(
      {
        description: `Upgrade Completed - Service ID: ${done.serviceId} - Upgrade ID: ${id}`,
        userid: done.userid,
      },
      when,
    );
    await core.hooks.run('AfterProductUpgrade', { upgradeid: id });
  }
}
