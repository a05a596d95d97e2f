import type { Knex } from 'knex';

// The dunning templates get the add-on's merge field {$overusage_held_lines}: disputed lines are
// listed apart, as on hold, instead of being silently left out. A provider adds the same field to
// their own WHMCS templates (docs/whmcs.md). Empty when the add-on gives none.
const TEMPLATES = [
  'Invoice Payment Reminder',
  'First Invoice Overdue Notice',
  'Second Invoice Overdue Notice',
  'Third Invoice Overdue Notice',
];
const FIELD = '{$overusage_held_lines}';

export async function up(knex: Knex): Promise<void> {
  const rows = await knex('tblemailtemplates').whereIn('name', TEMPLATES).select('id', 'message');
  for (const r of rows) {
    const message = String(r.message ?? '');
    if (message.includes(FIELD)) continue;
    await knex('tblemailtemplates')
      .where({ id: r.id })
      .update({ message: `${message}\n<p style="white-space: pre-line">${FIELD}</p>` });
  }
}

export async function down(knex: Knex): Promise<void> {
  const rows = await knex('tblemailtemplates').whereIn('name', TEMPLATES).select('id', 'message');
  for (const r of rows) {
    await knex('tblemailtemplates')
      .where({ id: r.id })
      .update({
        message: String(r.message ?? '').replace(`\n<p style="white-space: pre-line">${FIELD}</p>`, ''),
      });
  }
}
