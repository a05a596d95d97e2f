<?php

declare(strict_types=1);

namespace WHMCS\Module\Addon\Overusage;

/**
 * WHMCS's Module Log (Utilities > Logs > Module Log, kept when the admin turns module debug logging
 * on): every request to the service and its answer. Secrets are masked twice: replaced here before
 * the call, and handed to logModuleCall() as its replace list, which masks them itself.
 */
final class ModuleLog
{
    /** long pages are cut: the log is for finding a problem, not for keeping pages */
    private const MAX_CHARS = 20000;

    /** @param list<string> $secrets */
    public static function record(string $action, string $request, string $response, string $processed, array $secrets): void
    {
        if (!function_exists('logModuleCall')) {
            return;
        }
        // short values would mask ordinary words
        $secrets = array_values(array_unique(array_filter($secrets, static fn ($s): bool => is_string($s) && strlen($s) >= 8)));
        $mask = static fn (string $s): string => substr(str_replace($secrets, '********', $s), 0, self::MAX_CHARS);
        try {
            logModuleCall('overusage', $action, $mask($request), $mask($response), $mask($processed), $secrets);
        } catch (\Throwable $e) {
            // logging must never break what it logs
        }
    }
}
