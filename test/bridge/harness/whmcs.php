<?php
/**
 * The part of WHMCS the bridge touches, for tests: the one stand-in shared by the php-cli runs
 * (run.php) and the page shell served by `php -S` (web/). What exists for real is used for real:
 *
 *  - WHMCS\Database\Capsule is Laravel's Illuminate Capsule (Debian's php-illuminate-database),
 *    extended and set as global the way WHMCS does it, connected to the test's database, which
 *    holds WHMCS's tables (the reference panel's schema);
 *  - localAPI() is the reference panel's External API (/includes/api.php) with API credentials, so
 *    the bridge meets the same panel the module meets in-process;
 *  - logActivity() writes the reference panel's activity log through that API.
 *
 * Written here, after WHMCS's documented or publicly readable behaviour: add_hook and running a hook
 * point; logModuleCall (its replace list is masked); generate_token / check_token (WHMCS's session
 * token: sha1 of a per-session random value, the session id and a fixed salt; a form's `token`
 * field is compared with it; a mismatch ends the request: "Invalid Token" in the admin area, a
 * redirect to clientarea.php with the session ended in the client area); the menu object of
 * ClientAreaHomepagePanels; the service model of ClientAreaProductDetailsOutput.
 */

namespace {
    require_once 'Illuminate/Database/autoload.php';

    if (!defined('WHMCS')) {
        define('WHMCS', true);
    }

    $GLOBALS['__harness'] = ['config' => [], 'hooks' => [], 'activity' => [], 'localApi' => [], 'moduleLog' => []];

    /**
     * @param array{db: string, panelApi?: array{url: string, identifier: string, secret: string}, moduleLogFile?: string, tokenFailure?: string, failLocalApi?: list<string>} $config
     */
    function harness_boot(array $config): void
    {
        $GLOBALS['__harness']['config'] = $config;
        $capsule = new \WHMCS\Database\Capsule();
        $capsule->addConnection(harness_connection((string) $config['db']));
        $capsule->setAsGlobal();
    }

    /** mysql://user:pass@host:port/name or sqlite:/path/to/file → Illuminate's connection array. */
    function harness_connection(string $url): array
    {
        if (str_starts_with($url, 'sqlite:')) {
            return ['driver' => 'sqlite', 'database' => substr($url, strlen('sqlite:')), 'prefix' => '', 'foreign_key_constraints' => false];
        }
        $u = parse_url($url);
        if (!is_array($u) || ($u['scheme'] ?? '') !== 'mysql') {
            throw new \InvalidArgumentException("not a database URL: {$url}");
        }
        parse_str((string) ($u['query'] ?? ''), $q);
        return [
            'driver' => 'mysql',
            'host' => (string) ($u['host'] ?? '127.0.0.1'),
            'port' => (int) ($u['port'] ?? 3306),
            'unix_socket' => (string) ($q['socketPath'] ?? ''),
            'database' => ltrim((string) ($u['path'] ?? ''), '/'),
            'username' => rawurldecode((string) ($u['user'] ?? 'root')),
            'password' => rawurldecode((string) ($u['pass'] ?? '')),
            'charset' => 'utf8mb4',
            'collation' => 'utf8mb4_unicode_ci',
            'prefix' => '',
        ];
    }

    function add_hook($name, $priority, $fn)
    {
        $GLOBALS['__harness']['hooks'][$name][] = ['priority' => (int) $priority, 'fn' => $fn];
    }

    /** WHMCS calls every handler of a hook point, by priority, and collects their answers. */
    function harness_run_hook(string $name, $vars): array
    {
        $out = [];
        $hooks = $GLOBALS['__harness']['hooks'][$name] ?? [];
        usort($hooks, static fn ($a, $b) => $a['priority'] <=> $b['priority']);
        foreach ($hooks as $h) {
            $out[] = ($h['fn'])($vars);
        }
        return $out;
    }

    /** @return array<string, list<int>> hook name => priorities, as registered */
    function harness_registered_hooks(): array
    {
        return array_map(static fn (array $hs) => array_map(static fn ($h) => $h['priority'], $hs), $GLOBALS['__harness']['hooks']);
    }

    function logActivity($description, $userId = 0)
    {
        $GLOBALS['__harness']['activity'][] = ['description' => (string) $description, 'userid' => (int) $userId];
        // also into the reference panel's activity log, as WHMCS would write it
        harness_panel_call('LogActivity', ['description' => (string) $description, 'clientid' => (int) $userId]);
    }

    /** WHMCS's module log: each value of $replaceVars is masked in what is kept. */
    function logModuleCall($module, $action, $requestString, $responseData, $processedData = '', $replaceVars = [])
    {
        $mask = static function ($v) use ($replaceVars) {
            $text = is_string($v) ? $v : print_r($v, true);
            foreach ((array) $replaceVars as $secret) {
                if (is_string($secret) && $secret !== '') {
                    $text = str_replace($secret, str_repeat('*', strlen($secret)), $text);
                }
            }
            return $text;
        };
        $entry = ['module' => (string) $module, 'action' => (string) $action, 'request' => $mask($requestString), 'response' => $mask($responseData), 'processed' => $mask($processedData)];
        $GLOBALS['__harness']['moduleLog'][] = $entry;
        $file = $GLOBALS['__harness']['config']['moduleLogFile'] ?? '';
        if ($file !== '') {
            file_put_contents($file, json_encode($entry, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE) . "\n", FILE_APPEND | LOCK_EX);
        }
    }

    function localAPI($command, $values = [], $adminUser = '')
    {
        $GLOBALS['__harness']['localApi'][] = $command;
        $fail = $GLOBALS['__harness']['config']['failLocalApi'] ?? [];
        if (in_array($command, is_array($fail) ? $fail : [], true)) {
            throw new \RuntimeException('injected localAPI failure');
        }
        return harness_panel_call($command, is_array($values) ? $values : []);
    }

    function harness_panel_call(string $command, array $values): array
    {
        $api = $GLOBALS['__harness']['config']['panelApi'] ?? null;
        if (!is_array($api)) {
            return ['result' => 'error', 'message' => 'no panel API in this harness run'];
        }
        $body = http_build_query(array_merge($values, [
            'action' => $command,
            'identifier' => $api['identifier'],
            'secret' => $api['secret'],
            'responsetype' => 'json',
        ]));
        $context = stream_context_create(['http' => [
            'method' => 'POST',
            'header' => "Content-Type: application/x-www-form-urlencoded\r\nConnection: close",
            'content' => $body,
            'timeout' => 20,
            'ignore_errors' => true,
        ]]);
        $text = @file_get_contents(rtrim($api['url'], '/') . '/includes/api.php', false, $context);
        $decoded = is_string($text) ? json_decode($text, true) : null;
        return is_array($decoded) ? $decoded : ['result' => 'error', 'message' => 'the panel API did not answer'];
    }

    /** The session's form token ('plain'), or the hidden field ('form') or query part ('link'). */
    function generate_token($type = 'form')
    {
        if (!isset($_SESSION['tkval']) || !is_string($_SESSION['tkval']) || $_SESSION['tkval'] === '') {
            $_SESSION['tkval'] = bin2hex(random_bytes(16));
        }
        $token = sha1($_SESSION['tkval'] . session_id() . ':whmcscrsf');
        return match ($type) {
            'plain' => $token,
            'link' => '&token=' . $token,
            default => '<input type="hidden" name="token" value="' . $token . '" />',
        };
    }

    /**
     * The request's token against the session's. A mismatch ends the request as WHMCS does (or,
     * with tokenFailure "false", answers false: how the bridge behaves when check_token returns).
     */
    function check_token($namespace = 'WHMCS.default')
    {
        $given = $_REQUEST['token'] ?? '';
        $valid = is_string($given) && isset($_SESSION['tkval']) && hash_equals(sha1($_SESSION['tkval'] . session_id() . ':whmcscrsf'), $given);
        if ($valid) {
            return true;
        }
        $GLOBALS['__harness']['tokenRefused'] = (string) $namespace;
        if (($GLOBALS['__harness']['config']['tokenFailure'] ?? 'exit') === 'false') {
            return false;
        }
        if (str_starts_with((string) $namespace, 'WHMCS.admin.')) {
            exit('Invalid Token');
        }
        $_SESSION = [];
        if (session_status() === PHP_SESSION_ACTIVE) {
            session_destroy();
        }
        header('Location: clientarea.php', true, 302);
        exit;
    }
}

namespace WHMCS\Database {
    /** As WHMCS ships it: Laravel's Capsule manager under WHMCS's name. */
    class Capsule extends \Illuminate\Database\Capsule\Manager
    {
    }
}

namespace WHMCS\View\Menu {
    /** The part of \WHMCS\View\Menu\Item a hook uses. */
    final class Item
    {
        public string $label;
        public string $uri = '';
        public int $order = 0;
        public string $icon = '';
        public string $badge = '';
        public string $bodyHtml = '';
        public string $footerHtml = '';
        public array $extras = [];
        /** @var array<string, Item> */
        private array $children = [];

        public function __construct(public string $name, array $options = [])
        {
            $this->label = (string) ($options['label'] ?? $name);
            foreach (['uri', 'icon', 'badge', 'bodyHtml', 'footerHtml'] as $k) {
                if (isset($options[$k])) {
                    $this->{$k} = (string) $options[$k];
                }
            }
            $this->order = (int) ($options['order'] ?? 0);
            $this->extras = (array) ($options['extras'] ?? []);
        }

        public function addChild($name, array $options = []): Item
        {
            $child = $name instanceof Item ? $name : new Item((string) $name, $options);
            $this->children[$child->name] = $child;
            return $child;
        }

        public function getChild($name): ?Item
        {
            return $this->children[$name] ?? null;
        }

        public function removeChild($name): self
        {
            unset($this->children[$name instanceof Item ? $name->name : $name]);
            return $this;
        }

        public function getChildren(): array
        {
            return $this->children;
        }

        public function getName(): string
        {
            return $this->name;
        }

        public function getLabel(): string
        {
            return $this->label;
        }

        public function getOrder(): int
        {
            return $this->order;
        }

        public function setLabel($v): self
        {
            $this->label = (string) $v;
            return $this;
        }

        public function setOrder($v): self
        {
            $this->order = (int) $v;
            return $this;
        }

        public function setBodyHtml($v): self
        {
            $this->bodyHtml = (string) $v;
            return $this;
        }

        public function setFooterHtml($v): self
        {
            $this->footerHtml = (string) $v;
            return $this;
        }

        public function setExtra($k, $v): self
        {
            $this->extras[$k] = $v;
            return $this;
        }

        public function toData(): array
        {
            return [
                'name' => $this->name, 'label' => $this->label, 'order' => $this->order, 'icon' => $this->icon, 'badge' => $this->badge,
                'bodyHtml' => $this->bodyHtml, 'footerHtml' => $this->footerHtml, 'extras' => $this->extras,
                'children' => array_values(array_map(static fn (Item $c) => $c->toData(), $this->children)),
            ];
        }
    }
}

namespace WHMCS\Service {
    /** Stands in for the Eloquent model ClientAreaProductDetailsOutput hands over. */
    final class Service
    {
        public function __construct(private array $attributes)
        {
        }

        public function toArray(): array
        {
            return $this->attributes;
        }
    }
}
