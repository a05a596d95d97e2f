<?php

declare(strict_types=1);

namespace WHMCS\Module\Addon\Overusage;

/**
 * HMAC-SHA256 signatures of requests and answers, and the short-lived identity tokens of the
 * admin tab and the client page. The service computes the same strings
 * (module/adapters/bridge-signing.ts); change one, change both.
 */
final class Signer
{
    /** seconds a timestamp may be off, either way */
    public const MAX_SKEW = 300;
    /** seconds an identity token lives */
    public const IDENTITY_TTL = 300;

    public function __construct(private readonly string $secret)
    {
    }

    public static function nonce(): string
    {
        return bin2hex(random_bytes(16));
    }

    public function request(int $timestamp, string $nonce, string $endpoint, string $body): string
    {
        return hash_hmac('sha256', "overusage-v1-request\n{$timestamp}\n{$nonce}\n{$endpoint}\n" . $body, $this->secret);
    }

    public function answer(int $timestamp, string $requestNonce, string $nonce, int $status, string $body): string
    {
        return hash_hmac('sha256', "overusage-v1-answer\n{$timestamp}\n{$requestNonce}\n{$nonce}\n{$status}\n" . $body, $this->secret);
    }

    /** Names the admin or client of this WHMCS session (never anything the browser sent) for a few minutes. */
    public function identityToken(string $sub, int $id, int $now): string
    {
        $payload = self::base64url((string) json_encode(['v' => 1, 'sub' => $sub, 'id' => $id, 'iat' => $now, 'exp' => $now + self::IDENTITY_TTL]));
        $key = hash_hmac('sha256', 'overusage identity token v1', $this->secret, true);
        return $payload . '.' . self::base64url(hash_hmac('sha256', $payload, $key, true));
    }

    public static function base64url(string $bytes): string
    {
        return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
    }
}
