<?php

declare(strict_types=1);

namespace WHMCS\Module\Addon\Overusage;

/** What WHMCS hands over, as plain data for JSON. */
final class PlainData
{
    /** keys whose values never leave WHMCS (a provisioning module's server password, API keys) */
    private const SECRET_KEY = '/pass(word)?$|password|secret|accesshash|apikey|api_key|token/i';

    /**
     * Scalars, arrays, objects through toArray() (WHMCS's models); nothing deeper than 12 levels (a
     * localAPI answer nests 8 deep: products.product[].customfields.customfield[].id), at most 1000
     * entries a level. With $dropSecrets, keys that hold secrets are left out.
     */
    public static function of(mixed $v, bool $dropSecrets = false, int $depth = 0): mixed
    {
        if ($depth > 12) {
            return null;
        }
        if ($v === null || is_scalar($v)) {
            return is_float($v) && !is_finite($v) ? null : $v;
        }
        if ($v instanceof \DateTimeInterface) {
            return $v->format('Y-m-d H:i:s');
        }
        if (is_object($v)) {
            try {
                $v = method_exists($v, 'toArray') ? $v->toArray() : ($v instanceof \JsonSerializable ? $v->jsonSerialize() : get_object_vars($v));
            } catch (\Throwable $e) {
                return null;
            }
            if (!is_array($v)) {
                return self::of($v, $dropSecrets, $depth + 1);
            }
        }
        if (!is_array($v)) {
            return null;
        }
        $out = [];
        $n = 0;
        foreach ($v as $k => $x) {
            if (++$n > 1000) {
                break;
            }
            if ($dropSecrets && is_string($k) && preg_match(self::SECRET_KEY, $k) === 1) {
                continue;
            }
            $out[$k] = self::of($x, $dropSecrets, $depth + 1);
        }
        return $out;
    }

    /** JSON as the service reads it: unescaped, invalid UTF-8 replaced, never false. */
    public static function json(mixed $v): string
    {
        $text = json_encode($v, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PARTIAL_OUTPUT_ON_ERROR);
        return is_string($text) ? $text : 'null';
    }
}
