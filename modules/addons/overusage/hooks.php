<?php
/**
 * The Overusage add-on's hooks: each one forwards WHMCS's vars to the Overusage service and
 * returns the service's answer the way WHMCS expects it for that hook (abortsend, abortcmd, HTML,
 * home page panels, or nothing). See docs/whmcs.md.
 */

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

require_once __DIR__ . '/lib/bootstrap.php';

foreach ([
    'InvoiceCreation',
    'DailyCronJob',
    'AfterCronJob',
    'EmailPreSend',
    'PreModuleSuspend',
    'InvoicePaid',
    'AddInvoicePayment',
    'InvoiceCancelled',
    'ClientAreaHomepagePanels',
    'ClientAreaProductDetailsOutput',
    'AdminAreaClientSummaryPage',
] as $overusageHook) {
    add_hook($overusageHook, 10, static function ($vars = []) use ($overusageHook) {
        return \WHMCS\Module\Addon\Overusage\Bridge::relayHook($overusageHook, $vars);
    });
}
unset($overusageHook);
