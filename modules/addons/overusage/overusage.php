<?php
/**
 * Overusage for WHMCS: bills SolusVM bandwidth overusage on renewal invoices, with a reclamation
 * window and per-line disputes. This folder is only a bridge: every decision is made by the
 * Overusage service it relays to (install guide: docs/whmcs.md).
 */

use WHMCS\Module\Addon\Overusage\HttpClient;
use WHMCS\Module\Addon\Overusage\Lang;
use WHMCS\Module\Addon\Overusage\Lifecycle;
use WHMCS\Module\Addon\Overusage\Pages;
use WHMCS\Module\Addon\Overusage\Relay;
use WHMCS\Module\Addon\Overusage\Settings;
use WHMCS\Module\Addon\Overusage\Store;
use WHMCS\Module\Addon\Overusage\Version;

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

require_once __DIR__ . '/lib/bootstrap.php';

function overusage_config()
{
    return [
        'name' => 'Overusage',
        'description' => 'Bills SolusVM bandwidth overusage on renewal invoices, with a reclamation window and per-line disputes. Relays to the Overusage service.',
        'version' => Version::NUMBER,
        'author' => 'Overusage',
        'language' => 'english',
        'fields' => [
            'service_url' => [
                'FriendlyName' => 'Service URL',
                'Type' => 'text',
                'Size' => '60',
                'Description' => 'Where the Overusage service listens, e.g. https://overusage.example.net:8080',
            ],
            'shared_secret' => [
                'FriendlyName' => 'Shared secret',
                'Type' => 'password',
                'Size' => '64',
                'Description' => 'At least 32 characters; the same value as OVERUSAGE_BRIDGE_SECRET on the service (openssl rand -hex 32)',
            ],
            'timeout' => [
                'FriendlyName' => 'Timeout',
                'Type' => 'text',
                'Size' => '4',
                'Default' => '10',
                'Description' => 'Seconds to wait for the service before the fail mode applies (1-120)',
            ],
            'fail_mode' => [
                'FriendlyName' => 'When the service is down',
                'Type' => 'dropdown',
                'Options' => [
                    'open' => 'Fail open: reminders are sent and suspensions go ahead',
                    'closed' => 'Fail closed: reminders and overdue notices are held, suspensions postponed',
                ],
                'Default' => 'open',
                'Description' => 'New invoices always go ahead; their overusage lines are added once the service answers again',
            ],
            'ca_file' => [
                'FriendlyName' => 'CA file',
                'Type' => 'text',
                'Size' => '60',
                'Description' => 'Optional: a CA bundle (PEM) for a service certificate from a private certificate authority',
            ],
            'tls_insecure' => [
                'FriendlyName' => 'Skip TLS verification',
                'Type' => 'yesno',
                'Description' => 'Do not verify the service\'s certificate. For testing only: anyone in between could read the traffic',
            ],
        ],
    ];
}

function overusage_activate()
{
    return (new Lifecycle(Lang::forAdmin()))->activate();
}

function overusage_deactivate()
{
    return (new Lifecycle(Lang::forAdmin()))->deactivate();
}

function overusage_upgrade($vars)
{
    (new Lifecycle(Lang::forAdmin()))->upgrade(is_array($vars) ? (string) ($vars['version'] ?? '') : '');
}

/**
 * @param array<string, mixed> $vars
 * @throws \Throwable when the settings are not usable (the callers say so in their own way)
 */
function overusage_pages(array $vars, Lang $lang): Pages
{
    $settings = Settings::from($vars);
    return new Pages(new Relay($settings, new HttpClient($settings), new Store()), $lang);
}

/** The admin tab: the service's page for the admin of this WHMCS session. */
function overusage_output($vars)
{
    $vars = is_array($vars) ? $vars : [];
    $lang = Lang::fromVars($vars, (string) ($_SESSION['adminlang'] ?? ''));
    try {
        $pages = overusage_pages($vars, $lang);
    } catch (\Throwable $e) {
        echo Pages::alert('warning', $lang->get('not_configured', $e->getMessage()));
        return;
    }
    echo $pages->admin($vars);
}

/** The client page (index.php?m=overusage): the service's page for the client of this session. */
function overusage_clientarea($vars)
{
    $vars = is_array($vars) ? $vars : [];
    $lang = Lang::fromVars($vars, (string) ($_SESSION['Language'] ?? ''));
    try {
        $pages = overusage_pages($vars, $lang);
    } catch (\Throwable $e) {
        \WHMCS\Module\Addon\Overusage\ActivityLog::log('Overusage: the usage page is not available: ' . $e->getMessage());
        $page = Pages::clientShell((string) ($vars['modulelink'] ?? 'index.php?m=overusage'), $lang);
        $page['vars']['overusage_html'] = Pages::alert('warning', $lang->get('client_unavailable'));
        return $page;
    }
    return $pages->client($vars);
}
