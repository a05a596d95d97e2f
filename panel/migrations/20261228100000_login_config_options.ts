import type { Knex } from 'knex';

// Issue 19. The client's last login as WHMCS keeps it on tblclients (lastlogin, ip, host: shown by
// GetClientsDetails, written by the login page and ValidateLogin), and configurable options:
// groups of options linked to products (tblproductconfiglinks), each option (dropdown 1, radio 2,
// yes/no 3, quantity 4) with its choices (tblproductconfigoptionssub), priced in tblpricing with
// type 'configoptions' and relid the choice's id, as WHMCS stores them. GetProducts lists them.
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasColumn('tblclients', 'lastlogin'))) {
    await knex.schema.alterTable('tblclients', (t) => {
      t.datetime('lastlogin').nullable();
      t.string('ip', 64).notNullable().defaultTo('');
      t.string('host', 255).notNullable().defaultTo('');
    });
  }
  const create = async (name: string, build: (t: Knex.CreateTableBuilder) => void) => {
    if (!(await knex.schema.hasTable(name))) await knex.schema.createTable(name, build);
  };
  await create('tblproductconfiggroups', (t) => {
    t.increments('id').primary();
    t.string('name', 255).notNullable().defaultTo('');
    t.text('description').nullable();
  });
  await create('tblproductconfiglinks', (t) => {
    t.increments('id').primary();
    t.integer('gid').notNullable();
    t.integer('pid').notNullable();
    t.index(['pid']);
  });
  await create('tblproductconfigoptions', (t) => {
    t.increments('id').primary();
    t.integer('gid').notNullable();
    t.string('optionname', 255).notNullable().defaultTo('');
    t.string('optiontype', 10).notNullable().defaultTo('1');
    t.integer('qtyminimum').notNullable().defaultTo(0);
    t.integer('qtymaximum').notNullable().defaultTo(0);
    t.integer('order').notNullable().defaultTo(0);
    t.tinyint('hidden').notNullable().defaultTo(0);
    t.index(['gid']);
  });
  await create('tblproductconfigoptionssub', (t) => {
    t.increments('id').primary();
    t.integer('configid').notNullable();
    t.string('optionname', 255).notNullable().defaultTo('');
    t.integer('sortorder').notNullable().defaultTo(0);
    t.tinyint('hidden').notNullable().defaultTo(0);
    t.index(['configid']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const t of [
    'tblproductconfigoptionssub',
    'tblproductconfigoptions',
    'tblproductconfiglinks',
    'tblproductconfiggroups',
  ])
    await knex.schema.dropTableIfExists(t);
  if (await knex.schema.hasColumn('tblclients', 'lastlogin')) {
    await knex.schema.alterTable('tblclients', (t) => {
      t.dropColumn('lastlogin');
      t.dropColumn('ip');
      t.dropColumn('host');
    });
  }
}
