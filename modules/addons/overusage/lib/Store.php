<?php

declare(strict_types=1);

namespace WHMCS\Module\Addon\Overusage;

use WHMCS\Database\Capsule;

/**
 * The little the bridge keeps on the WHMCS side, as rows of its own in tbladdonmodules (no schema
 * change): the outbox of applied panel commands whose results the service has not acknowledged
 * yet, the event hooks the service missed (re-delivered on the next cron run), and when a repeated
 * failure was last written to the activity log. WHMCS deletes these rows when the addon is
 * deactivated.
 */
final class Store
{
    public const MODULE = 'overusage';
    private const OUTBOX = 'bridge_outbox_';
    private const MISSED = 'bridge_missed_';
    private const THROTTLE = 'bridge_logged_';
    /** missed hooks kept at most; older ones are reported and dropped */
    public const MAX_MISSED = 1000;

    /** @return array<string, string> the addon's settings (hooks get no $vars with them) */
    public static function settings(): array
    {
        $out = [];
        foreach (Capsule::table('tbladdonmodules')->where('module', self::MODULE)->get() as $row) {
            $setting = (string) $row->setting;
            if (!str_starts_with($setting, 'bridge_')) {
                $out[$setting] = (string) $row->value;
            }
        }
        return $out;
    }

    /** @param array<string, mixed> $entry */
    public function saveOutbox(string $key, array $entry): void
    {
        $this->put(self::OUTBOX . $key, $entry);
    }

    /** @return array<string, mixed>|null */
    public function outboxEntry(string $key): ?array
    {
        $row = Capsule::table('tbladdonmodules')->where('module', self::MODULE)->where('setting', self::OUTBOX . $key)->first();
        return $row === null ? null : self::decode((string) $row->value);
    }

    /** @return array<string, array<string, mixed>> key => entry not yet reported, oldest first */
    public function outbox(int $limit): array
    {
        return array_slice(array_filter($this->prefixed(self::OUTBOX, PHP_INT_MAX), static fn (array $e): bool => ($e['state'] ?? '') !== 'reported'), 0, $limit, true);
    }

    /**
     * The service has the results: they are no longer reported, but kept for a day so that a
     * key handed out again is answered from here instead of being applied twice.
     *
     * @param list<string> $keys
     */
    public function markReported(array $keys): void
    {
        foreach ($keys as $key) {
            $entry = $this->outboxEntry($key);
            if ($entry !== null && ($entry['state'] ?? '') !== 'reported') {
                $this->saveOutbox($key, ['state' => 'reported', 'was' => $entry['state'] ?? '', 'command' => $entry['command'] ?? '', 'result' => $entry['result'] ?? null, 'at' => time()]);
            }
        }
    }

    /** Forgets reported entries older than $seconds. */
    public function pruneReported(int $seconds): void
    {
        $old = [];
        foreach ($this->prefixed(self::OUTBOX, PHP_INT_MAX) as $key => $entry) {
            if (($entry['state'] ?? '') === 'reported' && (int) ($entry['at'] ?? 0) < time() - $seconds) {
                $old[] = (string) $key;
            }
        }
        $this->deleteOutbox($old);
    }

    /** @param list<string> $keys */
    public function deleteOutbox(array $keys): void
    {
        foreach (array_chunk($keys, 200) as $chunk) {
            Capsule::table('tbladdonmodules')->where('module', self::MODULE)->whereIn('setting', array_map(static fn (string $k): string => self::OUTBOX . $k, $chunk))->delete();
        }
    }

    /** @param array<string, mixed> $vars */
    public function saveMissed(string $hook, array $vars): void
    {
        $id = sprintf('%013d_%s', (int) (microtime(true) * 1000), bin2hex(random_bytes(4)));
        $this->put(self::MISSED . $id, ['hook' => $hook, 'vars' => $vars, 'firedAt' => gmdate('Y-m-d\TH:i:s\Z')]);
        $all = Capsule::table('tbladdonmodules')->where('module', self::MODULE)->where('setting', 'like', self::MISSED . '%')->count();
        if ($all > self::MAX_MISSED) {
            // never grow without bound while the service is away for long
            $oldest = array_slice(array_keys($this->prefixed(self::MISSED, $all)), 0, $all - self::MAX_MISSED);
            $this->deleteMissed($oldest);
            if (function_exists('logActivity')) {
                logActivity('Overusage: more than ' . self::MAX_MISSED . ' hook deliveries are waiting for the service; the oldest ' . count($oldest) . ' were dropped. Check the service, then look at recent invoices for missing overusage lines.');
            }
        }
    }

    /** @return array<string, array<string, mixed>> id => {hook, vars, firedAt}, oldest first */
    public function missed(int $limit): array
    {
        return $this->prefixed(self::MISSED, $limit);
    }

    /** @param list<string> $ids */
    public function deleteMissed(array $ids): void
    {
        foreach (array_chunk($ids, 200) as $chunk) {
            Capsule::table('tbladdonmodules')->where('module', self::MODULE)->whereIn('setting', array_map(static fn (string $k): string => self::MISSED . $k, $chunk))->delete();
        }
    }

    /**
     * Whether a repeated failure of this kind may be logged now (at most once per $seconds); the
     * answer carries how many were left out since the last entry.
     *
     * @return array{log: bool, suppressed: int}
     */
    public function throttle(string $kind, int $seconds): array
    {
        $name = self::THROTTLE . preg_replace('/[^A-Za-z0-9_]/', '_', $kind);
        $row = Capsule::table('tbladdonmodules')->where('module', self::MODULE)->where('setting', $name)->first();
        $state = $row === null ? null : self::decode((string) $row->value);
        $now = time();
        if ($state !== null && $now - (int) ($state['at'] ?? 0) < $seconds) {
            $this->put($name, ['at' => (int) ($state['at'] ?? 0), 'suppressed' => (int) ($state['suppressed'] ?? 0) + 1]);
            return ['log' => false, 'suppressed' => 0];
        }
        $this->put($name, ['at' => $now, 'suppressed' => 0]);
        return ['log' => true, 'suppressed' => $state === null ? 0 : (int) ($state['suppressed'] ?? 0)];
    }

    /** @param array<string, mixed> $value */
    private function put(string $setting, array $value): void
    {
        Capsule::table('tbladdonmodules')->updateOrInsert(
            ['module' => self::MODULE, 'setting' => $setting],
            ['value' => (string) json_encode($value, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PARTIAL_OUTPUT_ON_ERROR)],
        );
    }

    /** @return array<string, array<string, mixed>> */
    private function prefixed(string $prefix, int $limit): array
    {
        $out = [];
        foreach (Capsule::table('tbladdonmodules')->where('module', self::MODULE)->where('setting', 'like', $prefix . '%')->get() as $row) {
            $setting = (string) $row->setting;
            $entry = self::decode((string) $row->value);
            // LIKE's _ matches any character: keep only the exact prefix
            if ($entry !== null && str_starts_with($setting, $prefix)) {
                $out[substr($setting, strlen($prefix))] = $entry;
            }
        }
        // oldest first: by the time recorded, then by name (missed ids start with the time)
        uksort($out, static fn (string $a, string $b): int => [(int) ($out[$a]['at'] ?? 0), $a] <=> [(int) ($out[$b]['at'] ?? 0), $b]);
        return array_slice($out, 0, max(0, $limit), true);
    }

    /** @return array<string, mixed>|null */
    private static function decode(string $json): ?array
    {
        $v = json_decode($json, true);
        return is_array($v) ? $v : null;
    }
}
