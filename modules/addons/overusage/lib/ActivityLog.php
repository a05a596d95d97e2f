<?php

declare(strict_types=1);

namespace WHMCS\Module\Addon\Overusage;

/** WHMCS's Activity Log, where the bridge tells the admin what went wrong (always in English, like WHMCS's own entries). */
final class ActivityLog
{
    /** failures of these are frequent by nature (every page view, every 5 minutes): logged at most every 15 minutes */
    private const THROTTLED = ['AfterCronJob', 'DailyCronJob', 'ClientAreaHomepagePanels', 'ClientAreaProductDetailsOutput', 'not_configured'];

    public static function log(string $message, int $clientId = 0): void
    {
        if (function_exists('logActivity')) {
            logActivity(substr($message, 0, 2000), $clientId);
        }
    }

    /** At most one entry per kind every 15 minutes for the frequent kinds, saying how many were left out. */
    public static function throttled(?Store $store, string $kind, string $message): void
    {
        if (!in_array($kind, self::THROTTLED, true)) {
            self::log($message);
            return;
        }
        try {
            $t = ($store ?? new Store())->throttle($kind, 900);
        } catch (\Throwable $e) {
            $t = ['log' => true, 'suppressed' => 0];
        }
        if ($t['log']) {
            self::log($message . ($t['suppressed'] > 0 ? " ({$t['suppressed']} more like this in the last 15 minutes were not logged.)" : ''));
        }
    }
}
