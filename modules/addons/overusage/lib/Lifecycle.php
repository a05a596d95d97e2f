<?php

declare(strict_types=1);

namespace WHMCS\Module\Addon\Overusage;

/**
 * Activate, deactivate, upgrade (Setup > Addon Modules): the bridge's own tables here, the service
 * told through the bridge. Each answers WHMCS's {status, description}.
 */
final class Lifecycle
{
    public function __construct(private readonly Lang $lang)
    {
    }

    /** @return array{status: string, description: string} */
    public function activate(): array
    {
        try {
            Schema::ensure();
        } catch (\Throwable $e) {
            return ['status' => 'error', 'description' => $this->lang->get('tables_failed', $e->getMessage())];
        }
        // On first activation the URL and secret are not set yet (WHMCS shows the fields after
        // activating): the service applies its database changes itself when it starts.
        $result = $this->tell('activate', [], $this->lang->get('activated_configure'));
        return ['status' => $result['status'], 'description' => $result['description']];
    }

    /**
     * Deactivating must always be possible, even with the service gone. The bridge's tables go
     * when the service deleted its data (the admin's choice, "delete data on deactivation" in the
     * Overusage tab's settings); otherwise they stay for the next activation.
     *
     * @return array{status: string, description: string}
     */
    public function deactivate(): array
    {
        $result = $this->tell('deactivate', [], $this->lang->get('deactivated'));
        if ($result['status'] === 'error') {
            return ['status' => 'info', 'description' => $this->lang->get('deactivated_not_told', $result['description'])];
        }
        if ($result['dataDeleted']) {
            try {
                Schema::drop();
                $result['description'] .= ' ' . $this->lang->get('tables_dropped');
            } catch (\Throwable $e) {
                return ['status' => 'info', 'description' => $result['description'] . ' ' . $this->lang->get('tables_failed', $e->getMessage())];
            }
        }
        return ['status' => $result['status'], 'description' => $result['description']];
    }

    /** WHMCS calls this once after the version changed; $previous is the version that was installed. */
    public function upgrade(string $previous): void
    {
        try {
            $done = Schema::ensure();
            if ($done !== []) {
                ActivityLog::log('Overusage: upgraded from version ' . ($previous !== '' ? $previous : '?') . ' to ' . Version::NUMBER . ': ' . implode('; ', $done) . '.');
            }
        } catch (\Throwable $e) {
            ActivityLog::log('Overusage: the upgrade from version ' . $previous . ' could not change its tables: ' . $e->getMessage());
        }
        $result = $this->tell('upgrade', ['version' => $previous], '');
        if ($result['status'] === 'error') {
            ActivityLog::log('Overusage: the service could not be told about the upgrade from version ' . ($previous !== '' ? $previous : '?') . ': ' . $result['description']);
        }
    }

    /**
     * @param array<string, mixed> $payload
     * @return array{status: string, description: string, dataDeleted: bool}
     */
    private function tell(string $endpoint, array $payload, string $unconfigured): array
    {
        try {
            $settings = Settings::from(Store::settings());
        } catch (BridgeFailure $e) {
            if ($e->getCode() === BridgeFailure::NOT_CONFIGURED && $unconfigured !== '') {
                return ['status' => 'success', 'description' => $unconfigured, 'dataDeleted' => false];
            }
            return ['status' => 'error', 'description' => 'Overusage: ' . $e->getMessage(), 'dataDeleted' => false];
        } catch (\Throwable $e) {
            return ['status' => 'error', 'description' => 'Overusage: ' . $e->getMessage(), 'dataDeleted' => false];
        }
        try {
            $relay = new Relay($settings, new HttpClient($settings), new Store());
            // deleting the data is answered in one exchange (the service's tables go): it gets the whole minute
            $answer = $relay->converse($endpoint, $payload, $settings->timeout * 6, [], $endpoint === 'deactivate');
        } catch (\Throwable $e) {
            ActivityLog::log('Overusage: ' . $endpoint . ' could not reach the service: ' . $e->getMessage());
            return ['status' => 'error', 'description' => $this->lang->get('service_unreachable', $e->getMessage()), 'dataDeleted' => false];
        }
        $status = is_array($answer) && in_array($answer['status'] ?? '', ['success', 'error', 'info'], true) ? (string) $answer['status'] : 'info';
        $description = is_array($answer) && is_string($answer['description'] ?? null) ? $answer['description'] : 'The Overusage service answered.';
        return ['status' => $status, 'description' => $description, 'dataDeleted' => is_array($answer) && ($answer['dataDeleted'] ?? false) === true];
    }
}
