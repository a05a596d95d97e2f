import type { Knex } from 'knex';

// A fresh WHMCS installs AddLateFeeDays '5' (with InvoiceLateFeeAmount 10.00, Percentage: 10 % five
// days past the due date); the panel seeded '0', which WHMCS's AddLateFees reads as "from the due
// date itself" (d874dc8): out of the box every overdue invoice took 10 % on its due date. Moved to
// WHMCS's default where the seeded value was never changed (updated_at still its created_at).
export async function up(knex: Knex): Promise<void> {
  await knex('tblconfiguration')
    .where({ setting: 'AddLateFeeDays', value: '0' })
    .whereRaw('updated_at = created_at')
    .update({ value: '5' });
}

export async function down(knex: Knex): Promise<void> {
  await knex('tblconfiguration')
    .where({ setting: 'AddLateFeeDays', value: '5' })
    .whereRaw('updated_at = created_at')
    .update({ value: '0' });
}
