<?php

declare(strict_types=1);

namespace WHMCS\Module\Addon\Overusage;

use WHMCS\Database\Capsule;

/**
 * The bridge's own tables in WHMCS's database (the service's tables are its own business):
 *
 *   mod_overusage_bridge_outbox    panel commands applied through localAPI, one row per command key,
 *                                  kept until the service has the result (then a day longer, so a key
 *                                  handed out again is answered from here instead of applied twice)
 *   mod_overusage_bridge_missed    event hooks the service missed, re-delivered on a later cron run
 *   mod_overusage_bridge_throttle  when a frequent failure was last written to the activity log
 *
 * ensure() creates what is missing and adds what an older version lacked; it runs on activation,
 * on upgrade, and once per PHP process before the bridge first touches a table (hooks may fire
 * before WHMCS has called overusage_upgrade()). Versions up to 0.1.0 kept the same data as JSON rows
 * in tbladdonmodules; ensure() moves those over.
 */
final class Schema
{
    public const OUTBOX = 'mod_overusage_bridge_outbox';
    public const MISSED = 'mod_overusage_bridge_missed';
    public const THROTTLE = 'mod_overusage_bridge_throttle';
    public const TABLES = [self::OUTBOX, self::MISSED, self::THROTTLE];

    private const LEGACY_OUTBOX = 'bridge_outbox_';
    private const LEGACY_MISSED = 'bridge_missed_';
    private const LEGACY_THROTTLE = 'bridge_logged_';

    private static bool $ensured = false;

    /** @return list<string> what was done, for the admin (empty when nothing was needed) */
    public static function ensure(): array
    {
        $done = [];
        $schema = Capsule::schema();
        if (!$schema->hasTable(self::OUTBOX)) {
            $schema->create(self::OUTBOX, static function ($t): void {
                /** @var \Illuminate\Database\Schema\Blueprint $t */
                $t->increments('id');
                $t->string('command_key', 80)->unique();
                $t->string('command', 64);
                // applying | done | unknown | reported
                $t->string('state', 16);
                $t->mediumText('result')->nullable();
                $t->text('message')->nullable();
                $t->unsignedInteger('created_at');
                $t->unsignedInteger('updated_at');
                $t->index(['state', 'id']);
            });
            $done[] = 'created ' . self::OUTBOX;
        }
        if (!$schema->hasTable(self::MISSED)) {
            $schema->create(self::MISSED, static function ($t): void {
                /** @var \Illuminate\Database\Schema\Blueprint $t */
                $t->increments('id');
                $t->string('hook', 64);
                $t->mediumText('vars');
                $t->string('fired_at', 25);
            });
            $done[] = 'created ' . self::MISSED;
        }
        if (!$schema->hasTable(self::THROTTLE)) {
            $schema->create(self::THROTTLE, static function ($t): void {
                /** @var \Illuminate\Database\Schema\Blueprint $t */
                $t->string('kind', 64)->primary();
                $t->unsignedInteger('logged_at');
                $t->unsignedInteger('suppressed')->default(0);
            });
            $done[] = 'created ' . self::THROTTLE;
        }
        $moved = self::moveLegacyRows();
        if ($moved > 0) {
            $done[] = "moved {$moved} row(s) of version 0.1.0 out of tbladdonmodules";
        }
        self::$ensured = true;
        return $done;
    }

    /** ensure(), once per PHP process. */
    public static function ready(): void
    {
        if (!self::$ensured) {
            self::ensure();
        }
    }

    public static function drop(): void
    {
        foreach (self::TABLES as $table) {
            Capsule::schema()->dropIfExists($table);
        }
        self::$ensured = false;
    }

    /** Version 0.1.0's JSON rows in tbladdonmodules → the tables; each row moved in one transaction with its delete. */
    private static function moveLegacyRows(): int
    {
        $rows = Capsule::table('tbladdonmodules')->where('module', Store::MODULE)->where('setting', 'like', 'bridge%')->orderBy('id')->get();
        $moved = 0;
        foreach ($rows as $row) {
            $setting = (string) $row->setting;
            // LIKE's _ matches any character: only the exact prefixes
            if (!str_starts_with($setting, self::LEGACY_OUTBOX) && !str_starts_with($setting, self::LEGACY_MISSED) && !str_starts_with($setting, self::LEGACY_THROTTLE)) {
                continue;
            }
            $value = json_decode((string) $row->value, true);
            Capsule::connection()->transaction(static function () use ($row, $setting, $value): void {
                if (is_array($value) && str_starts_with($setting, self::LEGACY_OUTBOX)) {
                    $key = substr($setting, strlen(self::LEGACY_OUTBOX));
                    $at = (int) ($value['at'] ?? time());
                    Capsule::table(self::OUTBOX)->insertOrIgnore([
                        'command_key' => substr($key, 0, 80),
                        'command' => substr((string) ($value['command'] ?? ''), 0, 64),
                        'state' => in_array($value['state'] ?? '', ['applying', 'done', 'unknown', 'reported'], true) ? $value['state'] : 'unknown',
                        'result' => is_array($value['result'] ?? null) ? PlainData::json($value['result']) : null,
                        'message' => isset($value['message']) ? (string) $value['message'] : null,
                        'created_at' => $at,
                        'updated_at' => $at,
                    ]);
                } elseif (is_array($value) && str_starts_with($setting, self::LEGACY_MISSED)) {
                    Capsule::table(self::MISSED)->insert([
                        'hook' => substr((string) ($value['hook'] ?? ''), 0, 64),
                        'vars' => PlainData::json(is_array($value['vars'] ?? null) ? $value['vars'] : []),
                        'fired_at' => substr((string) ($value['firedAt'] ?? ''), 0, 25),
                    ]);
                }
                // throttle rows are only a memory of when something was logged: dropped
                Capsule::table('tbladdonmodules')->where('id', $row->id)->delete();
            });
            $moved++;
        }
        return $moved;
    }
}
