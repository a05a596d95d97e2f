<?php
/**
 * Overusage for WHMCS: bills SolusVM bandwidth overusage on renewal invoices, with a reclamation
 * window and per-line disputes. This folder is only a bridge: every decision is made by the
 * Overusage service it relays to (install guide: docs/whmcs.md).
 */

use WHMCS\Module\Addon\Overusage\Bridge;
use WHMCS\Module\Addon\Overusage\BridgeFailure;
use WHMCS\Module\Addon\Overusage\Settings;
use WHMCS\Module\Addon\Overusage\Store;

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

require_once __DIR__ . '/lib/bootstrap.php';

function overusage_config()
{
    return [
        'name' => 'Overusage',
        'description' => 'Bills SolusVM bandwidth overusage on renewal invoices, with a reclamation window and per-line disputes. Relays to the Overusage service.',
        'version' => '1.0.0',
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

/**
 * On first activation the URL and secret are not set yet (WHMCS shows the fields after
 * activating): the service applies its database changes itself when it starts.
 */
function overusage_activate()
{
    return overusage_lifecycle('activate', [], 'Overusage is active. Now click Configure and set the service URL and the shared secret.');
}

function overusage_deactivate()
{
    $result = overusage_lifecycle('deactivate', [], 'Overusage is deactivated.');
    // deactivating must always be possible, even with the service gone
    if ($result['status'] === 'error') {
        return ['status' => 'info', 'description' => 'Overusage is deactivated in WHMCS, but the service could not be told: ' . $result['description']];
    }
    return $result;
}

function overusage_upgrade($vars)
{
    $result = overusage_lifecycle('upgrade', ['version' => (string) ($vars['version'] ?? '')], '');
    if ($result['status'] === 'error' && function_exists('logActivity')) {
        logActivity('Overusage: the service could not be told about the upgrade from version ' . (string) ($vars['version'] ?? '?') . ': ' . $result['description']);
    }
}

/**
 * @param array<string, mixed> $payload
 * @return array{status: string, description: string}
 */
function overusage_lifecycle(string $endpoint, array $payload, string $unconfigured): array
{
    try {
        $bridge = new Bridge(Settings::from(Store::settings()));
    } catch (BridgeFailure $e) {
        if ($e->getCode() === BridgeFailure::NOT_CONFIGURED && $unconfigured !== '') {
            return ['status' => 'success', 'description' => $unconfigured];
        }
        return ['status' => 'error', 'description' => 'Overusage: ' . $e->getMessage()];
    } catch (\Throwable $e) {
        return ['status' => 'error', 'description' => 'Overusage: ' . $e->getMessage()];
    }
    try {
        return $bridge->lifecycle($endpoint, $payload);
    } catch (\Throwable $e) {
        if (function_exists('logActivity')) {
            logActivity('Overusage: ' . $endpoint . ' could not reach the service: ' . $e->getMessage());
        }
        return ['status' => 'error', 'description' => 'The Overusage service could not be reached: ' . $e->getMessage()];
    }
}

/** The admin tab: the service's page for the admin of this WHMCS session. */
function overusage_output($vars)
{
    try {
        $bridge = new Bridge(Settings::from(is_array($vars) ? $vars : []));
    } catch (\Throwable $e) {
        echo '<div class="alert alert-warning">Overusage is not set up yet: ' . htmlspecialchars($e->getMessage(), ENT_QUOTES, 'UTF-8') . '.</div>';
        return;
    }
    echo $bridge->adminOutput(is_array($vars) ? $vars : []);
}

/** The client page (index.php?m=overusage): the service's page for the client of this session. */
function overusage_clientarea($vars)
{
    $vars = is_array($vars) ? $vars : [];
    try {
        $bridge = new Bridge(Settings::from($vars));
    } catch (\Throwable $e) {
        if (function_exists('logActivity')) {
            logActivity('Overusage: the usage page is not available: ' . $e->getMessage());
        }
        return [
            'pagetitle' => 'Bandwidth usage',
            'breadcrumb' => [(string) ($vars['modulelink'] ?? 'index.php?m=overusage') => 'Bandwidth usage'],
            'templatefile' => 'clientarea',
            'requirelogin' => true,
            'vars' => ['overusage_html' => '<div class="alert alert-warning">Your usage figures cannot be shown right now. Please try again later.</div>'],
        ];
    }
    return $bridge->clientArea($vars);
}
