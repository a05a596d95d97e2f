import type { Knex } from 'knex';

// ValidateLogin's lockout (issue 19): failed passwords counted per email address, and WHMCS's
// "Invalid Login Ban Time" (General Settings › Security, InvalidLoginBanLength, minutes; 15 in a
// fresh WHMCS, 0 switches bans off). Times are UTC milliseconds from the panel's clock.
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasTable('tblpanel_login_failures'))) {
    await knex.schema.createTable('tblpanel_login_failures', (t) => {
      // the address as typed, lower-cased, at most 191 characters (a utf8mb4 key)
      t.string('email', 191).primary();
      t.integer('failures').notNullable().defaultTo(0);
      t.bigInteger('locked_until_ms').notNullable().defaultTo(0);
      t.bigInteger('updated_ms').notNullable().defaultTo(0);
    });
  }
  const now = new Date().toISOString().slice(0, 19).replace('T', ' ');
  await knex('tblconfiguration')
    .insert({ setting: 'InvalidLoginBanLength', value: '15', created_at: now, updated_at: now })
    .onConflict('setting')
    .ignore();
}

export async function down(knex: Knex): Promise<void> {
  await knex('tblconfiguration').where({ setting: 'InvalidLoginBanLength' }).delete();
  await knex.schema.dropTableIfExists('tblpanel_login_failures');
}
