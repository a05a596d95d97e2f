import type { Knex } from 'knex';

// AddOrder's promocode and configoptions (issue 19). Promotions as WHMCS keeps them (Setup ›
// Promotions; the columns GetPromotions answers, developers.whmcs.com/api-reference/getpromotions/):
// type Percentage | Fixed Amount, recurring (0 first invoice only, 1 every renewal), value,
// appliesto (product ids, comma separated), cycles (empty: every cycle), start and expiry dates
// (NULL: none; answered as 0000-00-00), maxuses (0: unlimited) and uses. The configurable options
// a service was ordered with (tblhostingconfigoptions: the option, the choice, the quantity), and
// the promotion an order used (tblorders.promocode/promotype/promovalue).
export async function up(knex: Knex): Promise<void> {
  const mysql = knex.client.config.client === 'mysql2';
  const money = (t: Knex.CreateTableBuilder | Knex.AlterTableBuilder, name: string) =>
    (mysql ? t.decimal(name, 16, 2) : t.text(name)).notNullable().defaultTo('0.00');
  if (!(await knex.schema.hasTable('tblpromotions'))) {
    await knex.schema.createTable('tblpromotions', (t) => {
      t.increments('id');
      t.string('code', 191).notNullable();
      t.string('type', 30).notNullable().defaultTo('Percentage');
      t.tinyint('recurring').notNullable().defaultTo(0);
      money(t, 'value');
      t.text('cycles').nullable();
      t.text('appliesto').nullable();
      t.text('requires').nullable();
      t.tinyint('requiresexisting').notNullable().defaultTo(0);
      t.date('startdate').nullable();
      t.date('expirationdate').nullable();
      t.integer('maxuses').notNullable().defaultTo(0);
      t.integer('uses').notNullable().defaultTo(0);
      t.tinyint('lifetimepromo').notNullable().defaultTo(0);
      t.tinyint('applyonce').notNullable().defaultTo(0);
      t.tinyint('newsignups').notNullable().defaultTo(0);
      t.tinyint('existingclient').notNullable().defaultTo(0);
      t.tinyint('onceperclient').notNullable().defaultTo(0);
      t.integer('recurfor').notNullable().defaultTo(0);
      t.tinyint('upgrades').notNullable().defaultTo(0);
      t.text('upgradeconfig').nullable();
      t.text('notes').nullable();
      t.unique(['code']);
    });
  }
  if (!(await knex.schema.hasTable('tblhostingconfigoptions'))) {
    await knex.schema.createTable('tblhostingconfigoptions', (t) => {
      t.increments('id');
      // the service
      t.integer('relid').notNullable();
      t.integer('configid').notNullable();
      // the choice (tblproductconfigoptionssub.id)
      t.integer('optionid').notNullable().defaultTo(0);
      t.integer('qty').notNullable().defaultTo(0);
      t.index(['relid']);
    });
  }
  if (!(await knex.schema.hasColumn('tblorders', 'promocode'))) {
    await knex.schema.alterTable('tblorders', (t) => {
      t.string('promocode', 191).notNullable().defaultTo('');
      t.string('promotype', 30).notNullable().defaultTo('');
      t.string('promovalue', 30).notNullable().defaultTo('');
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  if (await knex.schema.hasColumn('tblorders', 'promocode')) {
    await knex.schema.alterTable('tblorders', (t) => {
      t.dropColumn('promocode');
      t.dropColumn('promotype');
      t.dropColumn('promovalue');
    });
  }
  await knex.schema.dropTableIfExists('tblhostingconfigoptions');
  await knex.schema.dropTableIfExists('tblpromotions');
}
