import type { Knex } from 'knex';

// A copy of the schema as it was when written: later migrations change it, never this file.
//
// WHMCS's table and column names (docs/whmcs.md, "Tables and settings"). Money is DECIMAL(16,2) on MySQL, read back as an
// exact string; SQLite has no DECIMAL (knex would make it a REAL, a float), so there the same
// columns are TEXT holding the canonical decimal string ("12.30"). Both engines then return the
// same string and one parser (panel/db/rows.ts) reads them. No SQL ever adds money up.
// There are no foreign keys, as in WHMCS.

type Engine = 'mysql' | 'sqlite';
const engineOf = (knex: Knex): Engine => (knex.client.config.client === 'mysql2' ? 'mysql' : 'sqlite');

export async function up(knex: Knex): Promise<void> {
  const engine = engineOf(knex);
  const dec = (t: Knex.CreateTableBuilder, name: string, precision: number, scale: number, dflt: string) =>
    (engine === 'mysql' ? t.decimal(name, precision, scale) : t.text(name)).notNullable().defaultTo(dflt);
  const money = (t: Knex.CreateTableBuilder, name: string, precision = 16) =>
    dec(t, name, precision, 2, '0.00');
  const flag = (t: Knex.CreateTableBuilder, name: string) => t.tinyint(name).notNullable().defaultTo(0);
  const str = (t: Knex.CreateTableBuilder, name: string, len = 255) =>
    t.string(name, len).notNullable().defaultTo('');
  const stamps = (t: Knex.CreateTableBuilder) => {
    t.datetime('created_at').nullable();
    t.datetime('updated_at').nullable();
  };
  const create = async (name: string, build: (t: Knex.CreateTableBuilder) => void) => {
    if (!(await knex.schema.hasTable(name))) await knex.schema.createTable(name, build);
  };

  await create('tblconfiguration', (t) => {
    t.string('setting', 64).primary();
    t.text('value').nullable();
    stamps(t);
  });

  await create('tblcurrencies', (t) => {
    t.increments('id').primary();
    str(t, 'code', 5);
    str(t, 'prefix', 50);
    str(t, 'suffix', 50);
    t.integer('format').notNullable().defaultTo(1);
    dec(t, 'rate', 10, 5, '1.00000');
    flag(t, 'default');
  });

  await create('tblclients', (t) => {
    t.increments('id').primary();
    str(t, 'uuid');
    str(t, 'firstname');
    str(t, 'lastname');
    str(t, 'companyname');
    str(t, 'email');
    str(t, 'address1');
    str(t, 'address2');
    str(t, 'city');
    str(t, 'state');
    str(t, 'postcode', 64);
    str(t, 'country', 2);
    str(t, 'phonenumber', 64);
    str(t, 'password');
    t.integer('currency').notNullable().defaultTo(1);
    str(t, 'defaultgateway', 64);
    money(t, 'credit', 10);
    flag(t, 'taxexempt');
    flag(t, 'latefeeoveride');
    flag(t, 'overideduenotices');
    flag(t, 'separateinvoices');
    flag(t, 'disableautocc');
    t.date('datecreated').nullable();
    t.text('notes').nullable();
    t.integer('billingcid').notNullable().defaultTo(0);
    t.integer('groupid').notNullable().defaultTo(0);
    t.string('status', 20).notNullable().defaultTo('Active');
    // WHMCS language names ('english', 'dutch'); '' = the system default
    str(t, 'language', 64);
    flag(t, 'emailoptout');
    flag(t, 'overrideautoclose');
    stamps(t);
    t.index(['email']);
  });

  await create('tblproductgroups', (t) => {
    t.increments('id').primary();
    str(t, 'name');
    flag(t, 'hidden');
    t.integer('order').notNullable().defaultTo(0);
  });

  await create('tblproducts', (t) => {
    t.increments('id').primary();
    t.string('type', 30).notNullable().defaultTo('server');
    t.integer('gid').notNullable().defaultTo(0);
    str(t, 'name');
    t.text('description').nullable();
    flag(t, 'hidden');
    t.string('paytype', 20).notNullable().defaultTo('recurring');
    // the provisioning module (e.g. 'solusvmpro'); '' = none
    str(t, 'servertype', 64);
    for (let i = 1; i <= 24; i++) t.text(`configoption${i}`).nullable();
    flag(t, 'tax');
    // WHMCS widened this from INT(1) to hold the unit next to the flag
    str(t, 'overagesenabled', 10);
    t.integer('overagesdisklimit').notNullable().defaultTo(0);
    t.integer('overagesbwlimit').notNullable().defaultTo(0);
    dec(t, 'overagesdiskprice', 6, 4, '0.0000');
    dec(t, 'overagesbwprice', 6, 4, '0.0000');
    t.integer('autoterminatedays').notNullable().defaultTo(0);
    flag(t, 'retired');
    stamps(t);
  });

  await create('tblservers', (t) => {
    t.increments('id').primary();
    str(t, 'name');
    str(t, 'ipaddress', 64);
    str(t, 'hostname');
    str(t, 'type', 64);
    str(t, 'username');
    str(t, 'password');
    t.text('accesshash').nullable();
    str(t, 'secure', 3);
    flag(t, 'active');
    flag(t, 'disabled');
  });

  await create('tblhosting', (t) => {
    t.increments('id').primary();
    t.integer('userid').notNullable();
    t.integer('orderid').notNullable().defaultTo(0);
    t.integer('packageid').notNullable();
    t.integer('server').notNullable().defaultTo(0);
    t.date('regdate').nullable();
    str(t, 'domain');
    str(t, 'paymentmethod', 64);
    t.integer('qty').unsigned().notNullable().defaultTo(1);
    money(t, 'firstpaymentamount');
    money(t, 'amount');
    t.string('billingcycle', 30).notNullable().defaultTo('Monthly');
    t.date('nextduedate').nullable();
    t.date('nextinvoicedate').nullable();
    t.date('termination_date').nullable();
    t.date('completed_date').nullable();
    t.enu('domainstatus', ['Pending', 'Active', 'Suspended', 'Terminated', 'Cancelled', 'Fraud', 'Completed'])
      .notNullable()
      .defaultTo('Pending');
    str(t, 'username');
    str(t, 'password');
    t.text('notes').nullable();
    str(t, 'subscriptionid');
    t.integer('promoid').notNullable().defaultTo(0);
    t.text('suspendreason').nullable();
    flag(t, 'overideautosuspend');
    t.date('overidesuspenduntil').nullable();
    str(t, 'dedicatedip');
    t.text('assignedips').nullable();
    str(t, 'ns1');
    str(t, 'ns2');
    // MB, as WHMCS's usage import writes them
    t.integer('diskusage').notNullable().defaultTo(0);
    t.integer('disklimit').notNullable().defaultTo(0);
    t.integer('bwusage').notNullable().defaultTo(0);
    t.integer('bwlimit').notNullable().defaultTo(0);
    t.datetime('lastupdate').nullable();
    stamps(t);
    t.index(['userid']);
    t.index(['domainstatus', 'nextduedate']);
  });

  await create('tblcustomfields', (t) => {
    t.increments('id').primary();
    t.string('type', 20).notNullable().defaultTo('product');
    t.integer('relid').notNullable().defaultTo(0);
    str(t, 'fieldname');
    t.string('fieldtype', 20).notNullable().defaultTo('text');
    str(t, 'description');
    t.text('fieldoptions').nullable();
    t.text('regexpr').nullable();
    str(t, 'adminonly', 3);
    str(t, 'required', 3);
    str(t, 'showorder', 3);
    str(t, 'showinvoice', 3);
    t.integer('sortorder').notNullable().defaultTo(0);
    stamps(t);
    t.index(['type', 'relid']);
  });

  await create('tblcustomfieldsvalues', (t) => {
    t.increments('id').primary();
    t.integer('fieldid').notNullable();
    t.integer('relid').notNullable();
    t.text('value').nullable();
    stamps(t);
    t.unique(['fieldid', 'relid']);
  });

  await create('tbltax', (t) => {
    t.increments('id').primary();
    t.integer('level').notNullable().defaultTo(1);
    str(t, 'name');
    str(t, 'state');
    str(t, 'country', 2);
    dec(t, 'taxrate', 10, 3, '0.000');
  });

  await create('tblinvoices', (t) => {
    t.increments('id').primary();
    t.integer('userid').notNullable();
    str(t, 'invoicenum');
    t.date('date').nullable();
    t.date('duedate').nullable();
    // NULL where WHMCS writes a zero-date; the API renders it as 0000-00-00 00:00:00
    t.datetime('datepaid').nullable();
    t.datetime('last_capture_attempt').nullable();
    t.datetime('date_refunded').nullable();
    t.datetime('date_cancelled').nullable();
    money(t, 'subtotal');
    money(t, 'credit');
    money(t, 'tax');
    money(t, 'tax2');
    money(t, 'total');
    dec(t, 'taxrate', 10, 3, '0.000');
    dec(t, 'taxrate2', 10, 3, '0.000');
    t.string('status', 20).notNullable().defaultTo('Unpaid');
    str(t, 'paymentmethod', 64);
    t.integer('paymethodid').nullable();
    t.text('notes').nullable();
    stamps(t);
    t.index(['userid']);
    t.index(['status']);
    t.index(['duedate']);
  });

  await create('tblinvoiceitems', (t) => {
    t.increments('id').primary();
    t.integer('invoiceid').notNullable().defaultTo(0);
    t.integer('userid').notNullable();
    str(t, 'type', 30);
    t.integer('relid').notNullable().defaultTo(0);
    t.text('description').nullable();
    money(t, 'amount');
    flag(t, 'taxed');
    t.date('duedate').nullable();
    str(t, 'paymentmethod', 64);
    t.text('notes').nullable();
    t.index(['invoiceid']);
    t.index(['userid', 'type', 'relid']);
  });

  // Payments and refunds; an invoice's balance is its total minus what this table holds for it.
  await create('tblaccounts', (t) => {
    t.increments('id').primary();
    t.integer('userid').notNullable().defaultTo(0);
    t.integer('currency').notNullable().defaultTo(0);
    str(t, 'gateway', 64);
    t.datetime('date').nullable();
    str(t, 'description');
    money(t, 'amountin');
    money(t, 'fees');
    money(t, 'amountout');
    dec(t, 'rate', 10, 5, '1.00000');
    str(t, 'transid');
    t.integer('invoiceid').notNullable().defaultTo(0);
    t.integer('refundid').notNullable().defaultTo(0);
    t.index(['invoiceid']);
  });

  // The client credit log (credit added by overpayments, removed when applied to an invoice).
  await create('tblcredit', (t) => {
    t.increments('id').primary();
    t.integer('clientid').notNullable();
    t.date('date').nullable();
    t.text('description').nullable();
    money(t, 'amount');
    t.integer('relid').notNullable().defaultTo(0);
    t.index(['clientid']);
  });

  await create('tbladdonmodules', (t) => {
    t.increments('id').primary();
    t.string('module', 64).notNullable();
    t.string('setting', 64).notNullable();
    t.text('value').nullable();
    t.unique(['module', 'setting']);
  });

  await create('tblemailtemplates', (t) => {
    t.increments('id').primary();
    // general | product | invoice | admin (WHMCS also has domain, support, affiliate)
    t.string('type', 50).notNullable();
    str(t, 'name');
    t.text('subject').nullable();
    t.text('message').nullable();
    t.text('attachments').nullable();
    str(t, 'fromname');
    str(t, 'fromemail');
    flag(t, 'disabled');
    flag(t, 'custom');
    // '' = the default (English) version; translations carry the WHMCS language name
    str(t, 'language', 64);
    t.text('copyto').nullable();
    t.text('blind_copy_to').nullable();
    flag(t, 'plaintext');
    stamps(t);
    t.unique(['type', 'name', 'language']);
  });

  // The email log: every message the panel "sent" (it never really sends).
  await create('tblemails', (t) => {
    t.increments('id').primary();
    t.integer('userid').notNullable().defaultTo(0);
    t.text('subject').nullable();
    t.text('message').nullable();
    t.datetime('date').nullable();
    t.text('to').nullable();
    t.text('cc').nullable();
    t.text('bcc').nullable();
    t.text('attachments').nullable();
    flag(t, 'pending');
    t.text('message_data').nullable();
    flag(t, 'failed');
    t.text('failure_reason').nullable();
    t.index(['userid']);
  });

  await create('tblactivitylog', (t) => {
    t.increments('id').primary();
    t.datetime('date').notNullable();
    t.text('description').notNullable();
    str(t, 'user');
    t.integer('userid').notNullable().defaultTo(0);
    str(t, 'ipaddr', 64);
    t.index(['userid']);
  });

  await create('tbladmins', (t) => {
    t.increments('id').primary();
    str(t, 'uuid');
    t.integer('roleid').notNullable().defaultTo(1);
    t.string('username', 100).notNullable().unique();
    // scrypt of md5(password): the API's legacy login sends md5(password), the login page the password
    str(t, 'password');
    str(t, 'firstname');
    str(t, 'lastname');
    str(t, 'email');
    str(t, 'language', 64);
    flag(t, 'disabled');
    stamps(t);
  });

  // API credentials (WHMCS 7.2+ keeps them here): identifier in clear, secret hashed.
  await create('tbldeviceauth', (t) => {
    t.increments('id').primary();
    t.integer('user_id').notNullable();
    t.string('identifier', 64).notNullable().unique();
    str(t, 'secret');
    str(t, 'compat_secret');
    t.text('role_ids').nullable();
    str(t, 'description');
    flag(t, 'is_admin');
    t.datetime('last_access').nullable();
    stamps(t);
    t.datetime('deleted_at').nullable();
  });

  // The panel's own: one row per daily automation date, and what each run did per entity. The
  // unique key is what makes every step happen once however often a day is replayed.
  await create('tblpanel_automation_runs', (t) => {
    t.date('run_date').primary();
    t.string('status', 12).notNullable();
    t.datetime('started_at').notNullable();
    t.datetime('finished_at').nullable();
    t.text('summary').nullable();
  });

  await create('tblpanel_automation_log', (t) => {
    t.increments('id').primary();
    t.date('run_date').notNullable();
    t.string('task', 40).notNullable();
    t.string('entity_type', 20).notNullable();
    t.integer('entity_id').notNullable();
    t.string('step_key', 80).notNullable();
    t.string('outcome', 40).notNullable();
    t.text('detail').nullable();
    t.datetime('created_at').notNullable();
    t.unique(['task', 'entity_type', 'entity_id', 'step_key'], { indexName: 'tblpanel_automation_log_once' });
    t.index(['run_date']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const t of [
    'tblpanel_automation_log',
    'tblpanel_automation_runs',
    'tbldeviceauth',
    'tbladmins',
    'tblactivitylog',
    'tblemails',
    'tblemailtemplates',
    'tbladdonmodules',
    'tblcredit',
    'tblaccounts',
    'tblinvoiceitems',
    'tblinvoices',
    'tbltax',
    'tblcustomfieldsvalues',
    'tblcustomfields',
    'tblhosting',
    'tblservers',
    'tblproducts',
    'tblproductgroups',
    'tblclients',
    'tblcurrencies',
    'tblconfiguration',
  ]) {
    await knex.schema.dropTableIfExists(t);
  }
}
