<?php

declare(strict_types=1);

namespace WHMCS\Module\Addon\Overusage;

/** The addon's configuration (Setup > Addon Modules > Overusage > Configure), checked once. */
final class Settings
{
    public function __construct(
        public readonly string $url,
        public readonly string $secret,
        /** seconds anything a person or WHMCS waits on may take before the fail mode applies */
        public readonly int $timeout,
        public readonly bool $failClosed,
        public readonly string $caFile,
        public readonly bool $insecure,
    ) {
    }

    /** @param array<string, mixed> $values the addon's settings by field key */
    public static function from(array $values): self
    {
        $url = trim((string) ($values['service_url'] ?? ''));
        $secret = (string) ($values['shared_secret'] ?? '');
        if ($url === '' || $secret === '') {
            throw new BridgeFailure('the service URL or the shared secret is not set (Setup > Addon Modules > Overusage > Configure)', BridgeFailure::NOT_CONFIGURED);
        }
        if (!preg_match('~^https?://[^\s/?#]+~i', $url)) {
            throw new BridgeFailure('the service URL must start with https:// (or http:// on a private network)', BridgeFailure::NOT_CONFIGURED);
        }
        if (strlen($secret) < 32) {
            throw new BridgeFailure('the shared secret must be at least 32 characters (generate one with: openssl rand -hex 32)', BridgeFailure::NOT_CONFIGURED);
        }
        $timeout = (int) trim((string) ($values['timeout'] ?? ''));
        return new self(
            rtrim($url, '/'),
            $secret,
            $timeout >= 1 && $timeout <= 120 ? $timeout : 10,
            ($values['fail_mode'] ?? 'open') === 'closed',
            trim((string) ($values['ca_file'] ?? '')),
            in_array($values['tls_insecure'] ?? '', ['on', '1', 1, true, 'yes'], true),
        );
    }
}
