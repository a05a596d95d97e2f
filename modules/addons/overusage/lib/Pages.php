<?php

declare(strict_types=1);

namespace WHMCS\Module\Addon\Overusage;

/**
 * The admin tab (addonmodules.php?module=overusage) and the client page (index.php?m=overusage):
 * the service renders them for the admin or client of this WHMCS session (never anyone the browser
 * names), with WHMCS's CSRF token in every form, stylesheet and script from this folder's assets/,
 * and download links that come back here (the service's port is never the browser's business, and
 * no token ends up in a URL). A POST is relayed only with a valid WHMCS token; a download is
 * streamed through this request.
 */
final class Pages
{
    /** what a download may be: the service names it, the bridge checks it */
    private const DOWNLOAD_TYPES = ['text/csv; charset=utf-8', 'application/json; charset=utf-8'];

    public function __construct(private readonly Relay $relay, private readonly Lang $lang)
    {
    }

    /** The admin tab's HTML. @param array<string, mixed> $vars */
    public function admin(array $vars): string
    {
        $adminId = (int) ($_SESSION['adminid'] ?? 0);
        if ($adminId <= 0) {
            return self::alert('danger', $this->lang->get('no_admin'));
        }
        $link = (string) ($vars['modulelink'] ?? 'addonmodules.php?module=overusage');
        $payload = $this->payload('admin', $adminId, $link, (string) ($_SESSION['adminlang'] ?? ''), '../modules/addons/overusage/assets');
        if (isset($_GET['download'])) {
            return $this->download($payload);
        }
        $notice = '';
        if ($payload['request']['method'] === 'POST' && !self::formTokenValid('WHMCS.admin.default')) {
            ActivityLog::log("Overusage: a form sent to the admin tab was refused (admin ID {$adminId}): its CSRF token was missing or wrong. Nothing was changed.");
            $notice = self::alert('danger', $this->lang->get('form_refused'));
            $payload['request'] = ['method' => 'GET', 'query' => $payload['request']['query'], 'body' => []];
        }
        try {
            $answer = $this->relay->converse('output', $payload, $this->relay->settings->timeout * 3, self::secretsOf($payload));
            return $notice . (is_array($answer) ? (string) ($answer['html'] ?? '') : '');
        } catch (\Throwable $e) {
            $reason = $e instanceof BridgeFailure ? $e->getMessage() : 'the bridge failed (' . $e->getMessage() . ')';
            ActivityLog::log('Overusage: the admin tab could not be shown: ' . $reason . '.');
            return $notice . '<div class="alert alert-danger"><strong>' . self::e($this->lang->get('unreachable_title')) . '</strong> '
                . self::e(ucfirst($reason)) . '. ' . self::e($this->lang->get('unreachable_hint', $this->relay->settings->url)) . '</div>';
        }
    }

    /**
     * The client page: WHMCS renders templates/clientarea.tpl with the service's HTML.
     *
     * @param array<string, mixed> $vars
     * @return array<string, mixed>
     */
    public function client(array $vars): array
    {
        $link = (string) ($vars['modulelink'] ?? 'index.php?m=overusage');
        $page = self::clientShell($link, $this->lang);
        $clientId = (int) ($_SESSION['uid'] ?? 0);
        if ($clientId <= 0) {
            // requirelogin: WHMCS asks for a login and comes back
            return $page;
        }
        $payload = $this->payload('client', $clientId, $link, (string) ($_SESSION['Language'] ?? ''), 'modules/addons/overusage/assets');
        if (isset($_GET['download'])) {
            $page['vars']['overusage_html'] = $this->download($payload);
            return $page;
        }
        $notice = '';
        if ($payload['request']['method'] === 'POST' && !self::formTokenValid('WHMCS.default')) {
            ActivityLog::log("Overusage: a form sent to the usage page was refused (client ID {$clientId}): its CSRF token was missing or wrong. Nothing was changed.", $clientId);
            $notice = self::alert('danger', $this->lang->get('form_refused'));
            $payload['request'] = ['method' => 'GET', 'query' => $payload['request']['query'], 'body' => []];
        }
        try {
            $answer = $this->relay->converse('clientarea', $payload, $this->relay->settings->timeout * 3, self::secretsOf($payload));
            if (!is_array($answer)) {
                throw new BridgeFailure('the service sent no page');
            }
            if (is_string($answer['pagetitle'] ?? null) && $answer['pagetitle'] !== '') {
                $page['pagetitle'] = $answer['pagetitle'];
            }
            if (is_array($answer['breadcrumb'] ?? null)) {
                $crumbs = [];
                foreach ($answer['breadcrumb'] as $url => $label) {
                    // only links within WHMCS
                    if (is_string($label) && preg_match('#^[A-Za-z0-9_./?=&%-]+$#', (string) $url) === 1 && !str_contains((string) $url, '//')) {
                        $crumbs[(string) $url] = $label;
                    }
                }
                if ($crumbs !== []) {
                    $page['breadcrumb'] = $crumbs;
                }
            }
            $page['vars']['overusage_html'] = $notice . (string) ($answer['html'] ?? '');
        } catch (\Throwable $e) {
            $reason = $e instanceof BridgeFailure ? $e->getMessage() : 'the bridge failed (' . $e->getMessage() . ')';
            ActivityLog::log('Overusage: the usage page could not be shown to client ' . $clientId . ': ' . $reason . '.', $clientId);
            $page['vars']['overusage_html'] = $notice . self::alert('warning', $this->lang->get('client_unavailable'));
        }
        return $page;
    }

    /** @return array<string, mixed> the client page WHMCS shows around the service's HTML */
    public static function clientShell(string $link, Lang $lang): array
    {
        return [
            'pagetitle' => $lang->get('page_title'),
            'breadcrumb' => [$link => $lang->get('page_title')],
            'templatefile' => 'clientarea',
            'requirelogin' => true,
            'forcessl' => false,
            'vars' => ['overusage_html' => ''],
        ];
    }

    public static function alert(string $kind, string $text): string
    {
        return '<div class="alert alert-' . $kind . '" role="alert">' . self::e($text) . '</div>';
    }

    /**
     * A file the service makes for this admin or client, sent as this response: WHMCS's page is not
     * shown. On failure, the message to show instead.
     *
     * @param array<string, mixed> $payload
     */
    private function download(array $payload): string
    {
        $who = $payload['audience'] === 'admin' ? 'admin' : 'client';
        try {
            $answer = $this->relay->converse('download', $payload, $this->relay->settings->timeout * 3, self::secretsOf($payload));
            if (is_array($answer) && is_string($answer['error'] ?? null)) {
                // not there, or not this person's: the service says so in words
                return self::alert('warning', ucfirst($answer['error']) . '.');
            }
            $name = is_array($answer) ? (string) ($answer['filename'] ?? '') : '';
            $type = is_array($answer) ? (string) ($answer['contentType'] ?? '') : '';
            $body = is_array($answer) && is_string($answer['body'] ?? null) ? $answer['body'] : null;
            if ($body === null || preg_match('/^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$/', $name) !== 1 || !in_array($type, self::DOWNLOAD_TYPES, true)) {
                throw new BridgeFailure('the service sent no file');
            }
        } catch (\Throwable $e) {
            $reason = $e instanceof BridgeFailure ? $e->getMessage() : 'the bridge failed (' . $e->getMessage() . ')';
            ActivityLog::log("Overusage: a download for the {$who} could not be made: {$reason}.", $who === 'client' ? (int) $payload['subject'] : 0);
            return self::alert($who === 'admin' ? 'danger' : 'warning', $this->lang->get('download_failed'));
        }
        // WHMCS has buffered its page so far: none of it goes out with the file
        while (ob_get_level() > 0) {
            ob_end_clean();
        }
        header('Content-Type: ' . $type);
        header('Content-Disposition: attachment; filename="' . $name . '"');
        header('Content-Length: ' . strlen($body));
        header('X-Content-Type-Options: nosniff');
        header('Cache-Control: private, no-store');
        echo $body;
        exit;
    }

    /** @return array<string, mixed> */
    private function payload(string $audience, int $id, string $link, string $language, string $assets): array
    {
        $token = function_exists('generate_token') ? (string) generate_token('plain') : '';
        return [
            'identity' => (new Signer($this->relay->settings->secret))->identityToken($audience, $id, time()),
            'request' => self::currentRequest(),
            'modulelink' => $link,
            'language' => $language,
            // the service's forms carry WHMCS's token, under WHMCS's field name
            'csrf' => $token === '' ? null : ['name' => 'token', 'value' => $token],
            'assets' => ['base' => $assets, 'version' => Version::NUMBER],
            'downloads' => 'host',
            'audience' => $audience,
            'subject' => $id,
        ];
    }

    /** @param array<string, mixed> $payload @return list<string> */
    private static function secretsOf(array $payload): array
    {
        return [(string) $payload['identity'], (string) ($payload['csrf']['value'] ?? '')];
    }

    /**
     * WHMCS's own CSRF check: check_token() compares the request's token with the session's. WHMCS
     * itself stops the request when it does not match; a false answer or an exception is a refusal
     * here too, and so is a WHMCS without check_token().
     */
    private static function formTokenValid(string $namespace): bool
    {
        if (!function_exists('check_token')) {
            return false;
        }
        try {
            return check_token($namespace) !== false;
        } catch (\Throwable $e) {
            return false;
        }
    }

    /** @return array{method: string, query: array<mixed>, body: array<mixed>} */
    private static function currentRequest(): array
    {
        $method = strtoupper((string) ($_SERVER['REQUEST_METHOD'] ?? 'GET'));
        $query = PlainData::of($_GET);
        $body = PlainData::of($_POST);
        $query = is_array($query) ? $query : [];
        $body = is_array($body) ? $body : [];
        // WHMCS's token is WHMCS's business: the service never sees it come back
        unset($query['token'], $body['token']);
        return ['method' => preg_match('/^[A-Z]{3,7}$/', $method) === 1 ? $method : 'GET', 'query' => $query, 'body' => $body];
    }

    private static function e(string $s): string
    {
        return htmlspecialchars($s, ENT_QUOTES, 'UTF-8');
    }
}
