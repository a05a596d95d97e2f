import type { Knex } from 'knex';

// Orders as WHMCS keeps them (issue 19): tblorders, one row per AddOrder (Pending until
// AcceptOrder makes it Active), the services it created pointing back through tblhosting.orderid;
// and the two product settings AddProduct takes that the first schema lacked: autosetup ('' never,
// 'on' on a pending order, 'payment', 'order') and the welcome email template's id.
export async function up(knex: Knex): Promise<void> {
  const mysql = knex.client.config.client === 'mysql2';
  if (!(await knex.schema.hasTable('tblorders'))) {
    await knex.schema.createTable('tblorders', (t) => {
      t.increments('id');
      t.string('ordernum', 20).notNullable().defaultTo('');
      t.integer('userid').notNullable();
      t.datetime('date').notNullable();
      (mysql ? t.decimal('amount', 16, 2) : t.text('amount')).notNullable().defaultTo('0.00');
      t.string('paymentmethod', 64).notNullable().defaultTo('');
      t.integer('invoiceid').notNullable().defaultTo(0);
      // Pending | Active | Cancelled | Fraud
      t.string('status', 20).notNullable().defaultTo('Pending');
      t.string('ipaddress', 64).notNullable().defaultTo('');
      t.text('notes').nullable();
      t.index(['userid']);
    });
  }
  if (!(await knex.schema.hasColumn('tblproducts', 'autosetup'))) {
    await knex.schema.alterTable('tblproducts', (t) => {
      t.string('autosetup', 10).notNullable().defaultTo('');
      t.integer('welcomeemail').notNullable().defaultTo(0);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  if (await knex.schema.hasColumn('tblproducts', 'autosetup')) {
    await knex.schema.alterTable('tblproducts', (t) => {
      t.dropColumn('autosetup');
      t.dropColumn('welcomeemail');
    });
  }
  await knex.schema.dropTableIfExists('tblorders');
}
