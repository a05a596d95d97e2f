import type { Knex } from 'knex';

// Product prices and upgrades, as WHMCS keeps them (issue 21): tblpricing (one row per product and
// currency: setup fees and recurring prices per cycle, -1.00 where a cycle is not offered) and
// tblupgrades (an upgrade ordered with UpgradeProduct: the credit for the unused part of the old
// plan, the amount due, and whether it was paid and carried out).
export async function up(knex: Knex): Promise<void> {
  // money as in the first migration: DECIMAL on MySQL, the canonical decimal string as TEXT on SQLite
  const mysql = knex.client.config.client === 'mysql2';
  const money = (t: Knex.CreateTableBuilder, name: string, dflt: string) =>
    (mysql ? t.decimal(name, 16, 2) : t.text(name)).notNullable().defaultTo(dflt);
  if (!(await knex.schema.hasTable('tblpricing'))) {
    await knex.schema.createTable('tblpricing', (t) => {
      t.increments('id');
      t.string('type', 20).notNullable();
      t.integer('currency').notNullable();
      t.integer('relid').notNullable();
      for (const c of ['msetupfee', 'qsetupfee', 'ssetupfee', 'asetupfee', 'bsetupfee', 'tsetupfee'])
        money(t, c, '0.00');
      for (const c of ['monthly', 'quarterly', 'semiannually', 'annually', 'biennially', 'triennially'])
        money(t, c, '-1.00');
      t.index(['type', 'relid', 'currency']);
    });
  }
  if (!(await knex.schema.hasTable('tblupgrades'))) {
    await knex.schema.createTable('tblupgrades', (t) => {
      t.increments('id');
      t.integer('userid').notNullable();
      t.integer('orderid').notNullable().defaultTo(0);
      // package | configoptions
      t.string('type', 20).notNullable();
      t.date('date').notNullable();
      // the service
      t.integer('relid').notNullable();
      // old and new product id ("2,Monthly" as WHMCS writes the new one)
      t.string('originalvalue', 100).notNullable();
      t.string('newvalue', 100).notNullable();
      money(t, 'amount', '0.00');
      money(t, 'credit_amount', '0.00');
      t.integer('days_remaining').notNullable().defaultTo(0);
      t.integer('total_days_in_cycle').notNullable().defaultTo(0);
      money(t, 'new_recurring_amount', '0.00');
      money(t, 'recurringchange', '0.00');
      // Pending | Completed
      t.string('status', 20).notNullable().defaultTo('Pending');
      t.string('paid', 1).notNullable().defaultTo('N');
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('tblupgrades');
  await knex.schema.dropTableIfExists('tblpricing');
}
