<?php

declare(strict_types=1);

namespace WHMCS\Module\Addon\Overusage;

/**
 * Signed JSON requests to the service and verified answers. curl when the extension is there
 * (WHMCS requires it), PHP's own HTTP streams otherwise. TLS certificates are verified unless the
 * admin explicitly turned that off; redirects are not followed (a signed request goes where it
 * was configured to go, or nowhere).
 */
final class HttpClient
{
    private const MAX_ANSWER_BYTES = 8388608;

    private readonly Signer $signer;

    public function __construct(private readonly Settings $settings)
    {
        $this->signer = new Signer($settings->secret);
    }

    /**
     * @param array<string, mixed> $payload
     * @param list<string> $secrets values in the payload the module log must not show (identity and form tokens)
     * @return array<string, mixed> the answer, signed by the service for this very request
     * @throws BridgeFailure
     */
    public function post(string $endpoint, array $payload, int $timeout, array $secrets = []): array
    {
        // an empty PHP array would go as [], and the service takes an object
        $body = PlainData::json($payload === [] ? new \stdClass() : $payload);
        $timestamp = time();
        $nonce = Signer::nonce();
        $headers = [
            'Content-Type: application/json',
            'Accept: application/json',
            'X-Overusage-Timestamp: ' . $timestamp,
            'X-Overusage-Nonce: ' . $nonce,
            'X-Overusage-Signature: ' . $this->signer->request($timestamp, $nonce, $endpoint, $body),
        ];
        $url = $this->settings->url . '/bridge/v1/' . $endpoint;
        $timeout = max(1, $timeout);
        $secrets[] = $this->settings->secret;
        $answer = '';
        try {
            [$status, $answerHeaders, $answer] = (function_exists('curl_init') && !defined('OVERUSAGE_BRIDGE_NO_CURL'))
                ? $this->viaCurl($url, $headers, $body, $timeout)
                : $this->viaStreams($url, $headers, $body, $timeout);
            $decoded = $this->verified($status, $answerHeaders, $answer, $nonce);
        } catch (BridgeFailure $e) {
            ModuleLog::record($endpoint, $body, $answer, 'failed: ' . $e->getMessage(), $secrets);
            throw $e;
        }
        ModuleLog::record($endpoint, $body, $answer, (string) ($decoded['status'] ?? ''), $secrets);
        return $decoded;
    }

    /**
     * @param array<string, string> $headers lower-case names
     * @return array<string, mixed>
     */
    private function verified(int $status, array $headers, string $body, string $requestNonce): array
    {
        $ts = $headers['x-overusage-timestamp'] ?? '';
        $nonce = $headers['x-overusage-nonce'] ?? '';
        $signature = strtolower($headers['x-overusage-signature'] ?? '');
        $signed = preg_match('/^\d{1,12}$/', $ts) === 1 && preg_match('/^[A-Za-z0-9_-]{16,64}$/', $nonce) === 1
            && hash_equals($this->signer->answer((int) $ts, $requestNonce, $nonce, $status, $body), $signature);
        if (!$signed) {
            // Only for the admin's message; nothing in an unsigned answer is acted upon.
            $decoded = json_decode($body, true);
            $code = is_array($decoded) && is_string($decoded['code'] ?? null) ? $decoded['code'] : '';
            if ($status === 401 && $code === 'bad_signature') {
                throw new BridgeFailure('the service refused the request\'s signature: the shared secret in WHMCS is not the one the service has');
            }
            if ($status === 401 && $code === 'stale') {
                throw new BridgeFailure('the service refused the request as too old: the clocks of WHMCS and the service are more than 5 minutes apart');
            }
            if ($status >= 300 || $code !== '') {
                throw new BridgeFailure('the service answered HTTP ' . $status . ($code !== '' ? ' (' . substr($code, 0, 40) . ')' : '') . ' without a valid signature');
            }
            throw new BridgeFailure('the answer was not signed with the shared secret, so it was ignored (is the URL pointing at the Overusage service?)');
        }
        if (abs(time() - (int) $ts) > Signer::MAX_SKEW) {
            throw new BridgeFailure('the service\'s answer is dated more than 5 minutes away from this server\'s clock');
        }
        $decoded = json_decode($body, true);
        if (!is_array($decoded)) {
            throw new BridgeFailure('the service\'s answer is not JSON');
        }
        if ($status !== 200) {
            $message = is_string($decoded['message'] ?? null) ? $decoded['message'] : 'HTTP ' . $status;
            throw new BridgeFailure('the service refused the request: ' . substr($message, 0, 300));
        }
        return $decoded;
    }

    /**
     * @param list<string> $headers
     * @return array{0: int, 1: array<string, string>, 2: string}
     */
    private function viaCurl(string $url, array $headers, string $body, int $timeout): array
    {
        $answerHeaders = [];
        $answer = '';
        $tooBig = false;
        $ch = curl_init($url);
        if ($ch === false) {
            throw new BridgeFailure('curl could not be started');
        }
        $options = [
            CURLOPT_POST => true,
            CURLOPT_POSTFIELDS => $body,
            CURLOPT_HTTPHEADER => $headers,
            CURLOPT_RETURNTRANSFER => false,
            CURLOPT_FOLLOWLOCATION => false,
            CURLOPT_CONNECTTIMEOUT => min($timeout, 10),
            CURLOPT_TIMEOUT => $timeout,
            CURLOPT_SSL_VERIFYPEER => !$this->settings->insecure,
            CURLOPT_SSL_VERIFYHOST => $this->settings->insecure ? 0 : 2,
            CURLOPT_HEADERFUNCTION => static function ($ch, string $line) use (&$answerHeaders): int {
                $parts = explode(':', $line, 2);
                if (count($parts) === 2) {
                    $answerHeaders[strtolower(trim($parts[0]))] = trim($parts[1]);
                }
                return strlen($line);
            },
            CURLOPT_WRITEFUNCTION => static function ($ch, string $chunk) use (&$answer, &$tooBig): int {
                if (strlen($answer) + strlen($chunk) > self::MAX_ANSWER_BYTES) {
                    $tooBig = true;
                    return 0;
                }
                $answer .= $chunk;
                return strlen($chunk);
            },
        ];
        if (defined('CURLOPT_PROTOCOLS_STR')) {
            $options[CURLOPT_PROTOCOLS_STR] = 'http,https';
        } elseif (defined('CURLOPT_PROTOCOLS')) {
            $options[CURLOPT_PROTOCOLS] = CURLPROTO_HTTP | CURLPROTO_HTTPS;
        }
        if ($this->settings->caFile !== '') {
            $options[CURLOPT_CAINFO] = $this->settings->caFile;
        }
        curl_setopt_array($ch, $options);
        $ok = curl_exec($ch);
        if ($ok === false) {
            $errno = curl_errno($ch);
            $error = curl_error($ch);
            if ($tooBig) {
                throw new BridgeFailure('the service\'s answer was larger than 8 MB');
            }
            throw new BridgeFailure(self::curlReason($errno, $error, $url, $timeout));
        }
        $status = (int) curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
        return [$status, $answerHeaders, $answer];
    }

    private static function curlReason(int $errno, string $error, string $url, int $timeout): string
    {
        $host = (string) parse_url($url, PHP_URL_HOST);
        return match ($errno) {
            6 => "the service's host name {$host} could not be resolved",
            7 => "could not connect to the service at {$host} (is it running, and is the port open?)",
            28 => "the service did not answer within {$timeout} seconds",
            35, 51, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91 => "the service's TLS certificate could not be verified ({$error}); if it comes from a private certificate authority, set the CA file",
            default => "the request to the service failed ({$error})",
        };
    }

    /**
     * @param list<string> $headers
     * @return array{0: int, 1: array<string, string>, 2: string}
     */
    private function viaStreams(string $url, array $headers, string $body, int $timeout): array
    {
        $ssl = ['verify_peer' => !$this->settings->insecure, 'verify_peer_name' => !$this->settings->insecure, 'allow_self_signed' => false];
        if ($this->settings->caFile !== '') {
            $ssl['cafile'] = $this->settings->caFile;
        }
        $context = stream_context_create([
            'http' => [
                'method' => 'POST',
                'header' => implode("\r\n", array_merge($headers, ['Connection: close'])),
                'content' => $body,
                'timeout' => $timeout,
                'ignore_errors' => true,
                'follow_location' => 0,
                'protocol_version' => 1.1,
            ],
            'ssl' => $ssl,
        ]);
        $warnings = [];
        // PHP reports a refused connection or a bad certificate as warnings; they become the failure's reason instead.
        set_error_handler(static function (int $no, string $message) use (&$warnings): bool {
            $warnings[] = $message;
            return true;
        });
        try {
            $stream = fopen($url, 'rb', false, $context);
            $answer = $stream === false ? false : stream_get_contents($stream, self::MAX_ANSWER_BYTES + 1);
            $meta = $stream === false ? [] : stream_get_meta_data($stream);
            if ($stream !== false) {
                fclose($stream);
            }
        } finally {
            restore_error_handler();
        }
        if ($stream === false || $answer === false) {
            $host = (string) parse_url($url, PHP_URL_HOST);
            $warning = (string) end($warnings);
            // "fopen(url): Failed to open stream: Connection refused" → "Connection refused"
            $cut = strrpos($warning, ': ');
            $reason = $cut === false ? $warning : substr($warning, $cut + 2);
            $all = implode(' ', $warnings);
            if (stripos($all, 'certificate') !== false || stripos($all, 'SSL operation failed') !== false) {
                throw new BridgeFailure("the service's TLS certificate could not be verified (" . (preg_match('/certificate[^.;:]*/i', $all, $m) === 1 ? $m[0] : $reason) . '); if it comes from a private certificate authority, set the CA file');
            }
            if (stripos($warning, 'timed out') !== false) {
                throw new BridgeFailure("the service did not answer within {$timeout} seconds");
            }
            throw new BridgeFailure("could not connect to the service at {$host} (" . ($reason !== '' ? $reason : 'no answer') . ')');
        }
        if (!empty($meta['timed_out'])) {
            throw new BridgeFailure("the service did not answer within {$timeout} seconds");
        }
        if (strlen($answer) > self::MAX_ANSWER_BYTES) {
            throw new BridgeFailure('the service\'s answer was larger than 8 MB');
        }
        $status = 0;
        $answerHeaders = [];
        foreach ((array) ($meta['wrapper_data'] ?? []) as $line) {
            if (!is_string($line)) {
                continue;
            }
            if (preg_match('#^HTTP/\S+\s+(\d{3})#', $line, $m) === 1) {
                $status = (int) $m[1];
                $answerHeaders = [];
                continue;
            }
            $parts = explode(':', $line, 2);
            if (count($parts) === 2) {
                $answerHeaders[strtolower(trim($parts[0]))] = trim($parts[1]);
            }
        }
        return [$status, $answerHeaders, $answer];
    }
}
