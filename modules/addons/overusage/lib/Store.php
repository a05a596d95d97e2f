<?php

declare(strict_types=1);

namespace WHMCS\Module\Addon\Overusage;

use WHMCS\Database\Capsule;

/**
 * The little the bridge keeps on the WHMCS side (tables in Schema): the outbox of applied panel
 * commands whose results the service has not acknowledged yet, the event hooks the service missed,
 * and when a repeated failure was last written to the activity log.
 */
final class Store
{
    public const MODULE = 'overusage';
    /** missed hooks kept at most; older ones are reported and dropped */
    public const MAX_MISSED = 1000;

    public function __construct()
    {
        Schema::ready();
    }

    /** @return array<string, string> the addon's settings (hooks get no $vars with them) */
    public static function settings(): array
    {
        $out = [];
        foreach (Capsule::table('tbladdonmodules')->where('module', self::MODULE)->get(['setting', 'value']) as $row) {
            $out[(string) $row->setting] = (string) $row->value;
        }
        return $out;
    }

    /**
     * Claims a command key before its command runs. False when the key is known already (applied
     * before, or being applied by another PHP process right now).
     */
    public function claim(string $key, string $command): bool
    {
        $now = time();
        return Capsule::table(Schema::OUTBOX)->insertOrIgnore([
            'command_key' => $key, 'command' => $command, 'state' => 'applying', 'created_at' => $now, 'updated_at' => $now,
        ]) === 1;
    }

    /** @param array<mixed>|null $result */
    public function settle(string $key, string $state, ?array $result, ?string $message = null): void
    {
        Capsule::table(Schema::OUTBOX)->where('command_key', $key)->update([
            'state' => $state,
            'result' => $result === null ? null : PlainData::json($result),
            'message' => $message,
            'updated_at' => time(),
        ]);
    }

    /** @return array{state: string, command: string, result: array<mixed>|null, message: string|null}|null */
    public function outboxEntry(string $key): ?array
    {
        $row = Capsule::table(Schema::OUTBOX)->where('command_key', $key)->first();
        return $row === null ? null : self::entry($row);
    }

    /** @return array<string, array{state: string, command: string, result: array<mixed>|null, message: string|null}> key => entry not yet reported, oldest first */
    public function outbox(int $limit): array
    {
        $out = [];
        foreach (Capsule::table(Schema::OUTBOX)->where('state', '<>', 'reported')->orderBy('id')->limit(max(0, $limit))->get() as $row) {
            $out[(string) $row->command_key] = self::entry($row);
        }
        return $out;
    }

    /**
     * The service has the results: they are no longer reported, but kept (with the result) for a
     * day so that a key handed out again is answered from here instead of being applied twice.
     *
     * @param list<string> $keys
     */
    public function markReported(array $keys): void
    {
        foreach (array_chunk($keys, 200) as $chunk) {
            Capsule::table(Schema::OUTBOX)->whereIn('command_key', $chunk)->where('state', '<>', 'reported')->update(['state' => 'reported', 'updated_at' => time()]);
        }
    }

    /** Forgets reported entries older than $seconds. */
    public function pruneReported(int $seconds): void
    {
        Capsule::table(Schema::OUTBOX)->where('state', 'reported')->where('updated_at', '<', time() - $seconds)->delete();
    }

    /** @param array<string, mixed> $vars */
    public function saveMissed(string $hook, array $vars): void
    {
        Capsule::table(Schema::MISSED)->insert(['hook' => $hook, 'vars' => PlainData::json($vars), 'fired_at' => gmdate('Y-m-d\TH:i:s\Z')]);
        $all = Capsule::table(Schema::MISSED)->count();
        if ($all > self::MAX_MISSED) {
            // never grow without bound while the service is away for long
            $oldest = Capsule::table(Schema::MISSED)->orderBy('id')->limit($all - self::MAX_MISSED)->pluck('id')->all();
            $this->deleteMissed(array_map('intval', $oldest));
            ActivityLog::log('Overusage: more than ' . self::MAX_MISSED . ' hook deliveries are waiting for the service; the oldest ' . count($oldest) . ' were dropped. Check the service, then look at recent invoices for missing overusage lines.');
        }
    }

    /** @return array<int, array{hook: string, vars: array<mixed>, firedAt: string}> id => missed hook, oldest first */
    public function missed(int $limit): array
    {
        $out = [];
        foreach (Capsule::table(Schema::MISSED)->orderBy('id')->limit(max(0, $limit))->get() as $row) {
            $vars = json_decode((string) $row->vars, true);
            $out[(int) $row->id] = ['hook' => (string) $row->hook, 'vars' => is_array($vars) ? $vars : [], 'firedAt' => (string) $row->fired_at];
        }
        return $out;
    }

    /** @param list<int> $ids */
    public function deleteMissed(array $ids): void
    {
        foreach (array_chunk($ids, 200) as $chunk) {
            Capsule::table(Schema::MISSED)->whereIn('id', $chunk)->delete();
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
        $kind = substr((string) preg_replace('/[^A-Za-z0-9_]/', '_', $kind), 0, 64);
        $now = time();
        $row = Capsule::table(Schema::THROTTLE)->where('kind', $kind)->first();
        if ($row !== null && $now - (int) $row->logged_at < $seconds) {
            Capsule::table(Schema::THROTTLE)->where('kind', $kind)->increment('suppressed');
            return ['log' => false, 'suppressed' => 0];
        }
        Capsule::table(Schema::THROTTLE)->updateOrInsert(['kind' => $kind], ['logged_at' => $now, 'suppressed' => 0]);
        return ['log' => true, 'suppressed' => $row === null ? 0 : (int) $row->suppressed];
    }

    /** @return array{state: string, command: string, result: array<mixed>|null, message: string|null} */
    private static function entry(object $row): array
    {
        $result = $row->result === null ? null : json_decode((string) $row->result, true);
        return [
            'state' => (string) $row->state,
            'command' => (string) $row->command,
            'result' => is_array($result) ? $result : null,
            'message' => $row->message === null ? null : (string) $row->message,
        ];
    }
}
