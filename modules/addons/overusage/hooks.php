<?php
/**
 * The Overusage add-on's hooks: exactly the WHMCS hooks the service handles (the module's
 * moduleHooks() in hooks/index.ts; test/bridge/hook-list.test.ts fails when the two differ), with
 * the same priorities. Each forwards WHMCS's vars to the service and returns its answer the way
 * WHMCS expects for that hook (abortsend, abortcmd, HTML, home page panels, or nothing).
 */

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

require_once __DIR__ . '/lib/bootstrap.php';

foreach ([
    'PreCronJob' => 10,
    'DailyCronJob' => 10,
    'AfterCronJob' => 10,
    'InvoiceCreation' => 10,
    'EmailPreSend' => 10,
    'PreModuleSuspend' => 10,
    'AddInvoiceLateFee' => 10,
    'InvoiceCancelled' => 10,
    'InvoiceRefunded' => 10,
    'ClientAreaHomepagePanels' => 10,
    'ClientAreaProductDetailsOutput' => 10,
    'AdminLogout' => 10,
] as $overusageHook => $overusagePriority) {
    add_hook($overusageHook, $overusagePriority, static function ($vars = []) use ($overusageHook) {
        return \WHMCS\Module\Addon\Overusage\Hooks::relay($overusageHook, $vars);
    });
}
unset($overusageHook, $overusagePriority);
