<?php

declare(strict_types=1);

namespace WHMCS\Module\Addon\Overusage;

/**
 * Relays WHMCS to the Overusage service and back; the service decides everything. Per request:
 * send what WHMCS handed us (signed), apply the panel commands the service hands back through
 * localAPI() (relay mode), report their results, and repeat until the service is done; then give
 * WHMCS the answer with the hook's own return semantics. When the service cannot be asked, apply
 * the documented failure behaviour and say so in the activity log.
 */
final class Bridge
{
    /** WHMCS's dunning templates: the only emails "fail closed" holds back */
    public const GUARDED_TEMPLATES = [
        'Invoice Payment Reminder',
        'First Invoice Overdue Notice',
        'Second Invoice Overdue Notice',
        'Third Invoice Overdue Notice',
        'Credit Card Payment Due',
    ];

    /** events the service must not miss: re-delivered on a later cron run when it was away */
    public const REPLAYED_HOOKS = ['InvoiceCreation', 'InvoicePaid', 'AddInvoicePayment', 'InvoiceCancelled'];

    /** how WHMCS treats each hook's return value */
    private const STYLE = [
        'EmailPreSend' => 'merge',
        'PreModuleSuspend' => 'merge',
        'ClientAreaProductDetailsOutput' => 'html',
        'AdminAreaClientSummaryPage' => 'html',
        'ClientAreaHomepagePanels' => 'menu',
    ];

    /** failures of these are frequent by nature (every page view, every 5 minutes): logged at most every 15 minutes */
    private const THROTTLED = ['AfterCronJob', 'DailyCronJob', 'ClientAreaHomepagePanels', 'ClientAreaProductDetailsOutput', 'AdminAreaClientSummaryPage', 'not_configured'];

    /** API commands the bridge runs for the service; anything else is refused */
    private const ALLOWED = [
        'GetInvoice', 'GetInvoices', 'CreateInvoice', 'UpdateInvoice', 'AddInvoicePayment', 'ApplyCredit', 'AddCredit',
        'GetClientsDetails', 'GetClientsProducts', 'UpdateClientProduct', 'ModuleSuspend', 'ModuleUnsuspend',
        'SendEmail', 'SendAdminEmail', 'LogActivity', 'GenInvoices', 'GetConfigurationValue', 'GetProducts',
        'GetEmails', 'GetActivityLog', 'GetCredits', 'GetTransactions',
    ];

    /** commands that only read: safe to run again, so not kept in the outbox */
    private const READS = [
        'getinvoice', 'getinvoices', 'getclientsdetails', 'getclientsproducts', 'getconfigurationvalue', 'getactivitylog',
        'getemails', 'getproducts', 'getcredits', 'gettransactions',
    ];

    /** the whole of a cron hook's conversation (metering many services takes a while) */
    private const CRON_SECONDS = 900;
    private const MAX_ROUNDS = 2000;

    private readonly HttpClient $http;
    private readonly Store $store;

    private static ?self $current = null;

    public function __construct(private readonly Settings $settings, ?Store $store = null)
    {
        $this->http = new HttpClient($settings);
        $this->store = $store ?? new Store();
    }

    /** The bridge for this WHMCS, from the addon's stored settings. @throws BridgeFailure */
    public static function fromStoredSettings(): self
    {
        if (self::$current === null) {
            self::$current = new self(Settings::from(Store::settings()));
        }
        return self::$current;
    }

    /**
     * What hooks.php registers for every hook: never throws, never echoes; returns what WHMCS
     * expects from that hook.
     */
    public static function relayHook(string $hook, mixed $vars): mixed
    {
        try {
            $bridge = self::fromStoredSettings();
        } catch (\Throwable $e) {
            self::logThrottled(null, 'not_configured', 'Overusage is active but cannot reach its service: ' . $e->getMessage() . '. Hooks are passed over until this is fixed.');
            return self::neutral($hook);
        }
        return $bridge->hook($hook, $vars);
    }

    public function hook(string $hook, mixed $vars): mixed
    {
        $payloadVars = [];
        try {
            $payloadVars = $this->varsFor($hook, $vars);
            if ($hook === 'AfterCronJob') {
                $this->catchUp();
            }
            $answer = $this->converse('hook', ['hook' => $hook, 'vars' => $payloadVars], $this->deadlineFor($hook));
            return $this->toWhmcs($hook, $answer, $vars);
        } catch (\Throwable $e) {
            $reason = $e instanceof BridgeFailure ? $e->getMessage() : 'the bridge failed (' . get_class($e) . ': ' . $e->getMessage() . ')';
            return $this->failed($hook, is_array($payloadVars) ? $payloadVars : [], $reason);
        }
    }

    /**
     * activate / deactivate / upgrade: the service's {status, description}.
     *
     * @param array<string, mixed> $payload
     * @return array{status: string, description: string}
     */
    public function lifecycle(string $endpoint, array $payload = []): array
    {
        $answer = $this->converse($endpoint, $payload, $this->settings->timeout * 6);
        $status = is_array($answer) && in_array($answer['status'] ?? '', ['success', 'error', 'info'], true) ? (string) $answer['status'] : 'info';
        $description = is_array($answer) && is_string($answer['description'] ?? null) ? $answer['description'] : 'The Overusage service answered.';
        return ['status' => $status, 'description' => $description];
    }

    /** The admin tab's HTML for the admin of this session. @param array<string, mixed> $vars */
    public function adminOutput(array $vars): string
    {
        $adminId = (int) ($_SESSION['adminid'] ?? 0);
        if ($adminId <= 0) {
            return '<div class="alert alert-danger">Overusage: no administrator is logged in.</div>';
        }
        try {
            $answer = $this->converse('output', [
                'identity' => (new Signer($this->settings->secret))->identityToken('admin', $adminId, time()),
                'request' => self::currentRequest(),
                'modulelink' => (string) ($vars['modulelink'] ?? 'addonmodules.php?module=overusage'),
                'language' => (string) ($_SESSION['adminlang'] ?? ''),
            ], $this->settings->timeout * 3);
            return is_array($answer) ? (string) ($answer['html'] ?? '') : '';
        } catch (\Throwable $e) {
            $reason = $e instanceof BridgeFailure ? $e->getMessage() : 'the bridge failed (' . $e->getMessage() . ')';
            self::log('Overusage: the admin tab could not be shown: ' . $reason . '.');
            return '<div class="alert alert-danger"><strong>The Overusage service cannot be reached.</strong> '
                . htmlspecialchars(ucfirst($reason), ENT_QUOTES, 'UTF-8')
                . '. Check that it is running at ' . htmlspecialchars($this->settings->url, ENT_QUOTES, 'UTF-8')
                . ' and that the shared secret matches (Setup &gt; Addon Modules &gt; Overusage &gt; Configure).</div>';
        }
    }

    /**
     * The client page (index.php?m=overusage) for the client of this session.
     *
     * @param array<string, mixed> $vars
     * @return array<string, mixed>
     */
    public function clientArea(array $vars): array
    {
        $link = (string) ($vars['modulelink'] ?? 'index.php?m=overusage');
        $page = [
            'pagetitle' => 'Bandwidth usage',
            'breadcrumb' => [$link => 'Bandwidth usage'],
            'templatefile' => 'clientarea',
            'requirelogin' => true,
            'forcessl' => false,
            'vars' => ['overusage_html' => ''],
        ];
        $clientId = (int) ($_SESSION['uid'] ?? 0);
        if ($clientId <= 0) {
            // WHMCS shows its login form for requirelogin pages
            return $page;
        }
        try {
            $answer = $this->converse('clientarea', [
                'identity' => (new Signer($this->settings->secret))->identityToken('client', $clientId, time()),
                'request' => self::currentRequest(),
                'modulelink' => $link,
                'language' => (string) ($_SESSION['Language'] ?? ''),
            ], $this->settings->timeout * 3);
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
            $page['vars']['overusage_html'] = (string) ($answer['html'] ?? '');
        } catch (\Throwable $e) {
            $reason = $e instanceof BridgeFailure ? $e->getMessage() : 'the bridge failed (' . $e->getMessage() . ')';
            self::log('Overusage: the usage page could not be shown to client ' . $clientId . ': ' . $reason . '.', $clientId);
            $page['vars']['overusage_html'] = '<div class="alert alert-warning">Your usage figures cannot be shown right now. Please try again later.</div>';
        }
        return $page;
    }

    // ---------------------------------------------------------------------------------------------

    /**
     * One request and the relay steps that follow it, until the service is done.
     *
     * @param array<string, mixed> $payload
     * @throws BridgeFailure
     */
    private function converse(string $endpoint, array $payload, int $seconds): mixed
    {
        $deadline = microtime(true) + $seconds;
        $answer = $this->http->post($endpoint, $payload, $this->timeoutBefore($deadline));
        for ($round = 0; ; $round++) {
            $status = $answer['status'] ?? null;
            if ($status === 'done') {
                return $answer['answer'] ?? null;
            }
            if ($status === 'failed') {
                throw new BridgeFailure('the service could not finish: ' . substr((string) ($answer['message'] ?? 'no reason given'), 0, 300));
            }
            if ($status !== 'commands' && $status !== 'working') {
                throw new BridgeFailure('the service answered something the bridge does not understand');
            }
            if ($round >= self::MAX_ROUNDS || microtime(true) >= $deadline) {
                throw new BridgeFailure("the service did not finish within {$seconds} seconds");
            }
            $conversation = (string) ($answer['conversation'] ?? '');
            $results = $status === 'commands' ? $this->applyAll(is_array($answer['commands'] ?? null) ? $answer['commands'] : []) : [];
            $answer = $this->http->post('results', ['conversation' => $conversation, 'results' => $results], $this->timeoutBefore($deadline));
            // a signed answer means the service has recorded the results
            $this->store->markReported(array_values(array_filter(array_map(static fn (array $r): string => (string) $r['key'], $results), static fn (string $k): bool => !str_starts_with($k, 'r-'))));
        }
    }

    private function timeoutBefore(float $deadline): int
    {
        return max(1, min($this->settings->timeout, (int) ceil($deadline - microtime(true))));
    }

    /**
     * @param array<mixed> $commands
     * @return list<array<string, mixed>>
     */
    private function applyAll(array $commands): array
    {
        $results = [];
        foreach ($commands as $c) {
            if (!is_array($c) || !is_string($c['key'] ?? null) || preg_match('/^[a-z]-[A-Za-z0-9-]{1,76}$/', $c['key']) !== 1) {
                continue;
            }
            $results[] = $this->apply($c['key'], (string) ($c['command'] ?? ''), is_array($c['params'] ?? null) ? $c['params'] : []);
        }
        return $results;
    }

    /**
     * Applies one command through localAPI, once per key: a write is noted before it runs and its
     * result kept until the service acknowledges it.
     *
     * @param array<mixed> $params
     * @return array<string, mixed>
     */
    private function apply(string $key, string $command, array $params): array
    {
        if (!in_array($command, self::ALLOWED, true)) {
            return ['key' => $key, 'status' => 'refused', 'message' => "the bridge does not run {$command}"];
        }
        $write = !in_array(strtolower($command), self::READS, true);
        if ($write) {
            $prior = $this->store->outboxEntry($key);
            if ($prior !== null) {
                // already applied under this key: never twice
                return in_array($prior['state'] ?? '', ['done', 'reported'], true) && is_array($prior['result'] ?? null)
                    ? ['key' => $key, 'status' => 'ok', 'result' => $prior['result']]
                    : ['key' => $key, 'status' => 'unknown', 'message' => 'an earlier attempt was interrupted'];
            }
            $this->store->saveOutbox($key, ['state' => 'applying', 'command' => $command, 'at' => time()]);
        }
        try {
            $result = localAPI($command, $params);
        } catch (\Throwable $e) {
            $message = 'localAPI failed: ' . $e->getMessage();
            if ($write) {
                $this->store->saveOutbox($key, ['state' => 'unknown', 'command' => $command, 'message' => $message, 'at' => time()]);
            }
            return ['key' => $key, 'status' => 'unknown', 'message' => $message];
        }
        if (!is_array($result)) {
            $result = ['result' => 'error', 'message' => 'localAPI gave no answer'];
        }
        $result = self::plain($result);
        if ($write) {
            $this->store->saveOutbox($key, ['state' => 'done', 'command' => $command, 'result' => $result, 'at' => time()]);
        }
        return ['key' => $key, 'status' => 'ok', 'result' => $result];
    }

    /** On a cron run: report results still in the outbox, then re-deliver the hooks the service missed. */
    private function catchUp(): void
    {
        $outbox = $this->store->outbox(500);
        if ($outbox !== []) {
            $results = [];
            foreach ($outbox as $key => $entry) {
                $results[] = ($entry['state'] ?? '') === 'done' && is_array($entry['result'] ?? null)
                    ? ['key' => $key, 'status' => 'ok', 'result' => $entry['result']]
                    : ['key' => $key, 'status' => 'unknown', 'message' => (string) ($entry['message'] ?? 'the bridge was interrupted while applying it')];
            }
            $answer = $this->converse('report', ['results' => $results], $this->settings->timeout);
            $accepted = is_array($answer) && is_array($answer['accepted'] ?? null) ? array_map('strval', $answer['accepted']) : [];
            $this->store->markReported(array_values(array_intersect($accepted, array_map('strval', array_keys($outbox)))));
        }
        $this->store->pruneReported(86400);
        $replayed = 0;
        foreach ($this->store->missed(50) as $id => $m) {
            $hook = (string) ($m['hook'] ?? '');
            if (in_array($hook, self::REPLAYED_HOOKS, true)) {
                $this->converse('hook', ['hook' => $hook, 'vars' => is_array($m['vars'] ?? null) ? $m['vars'] : [], 'replay' => ['firedAt' => (string) ($m['firedAt'] ?? '')]], $this->settings->timeout * 3);
                $replayed++;
            }
            $this->store->deleteMissed([(string) $id]);
        }
        if ($replayed > 0) {
            self::log("Overusage: the service is reachable again; {$replayed} missed hook call(s) were delivered (overusage lines are added to the invoices concerned).");
        }
    }

    /** @return array<string, mixed> */
    private function varsFor(string $hook, mixed $vars): array
    {
        if ((self::STYLE[$hook] ?? '') === 'menu') {
            $items = [];
            if (is_object($vars) && method_exists($vars, 'getChildren')) {
                foreach ((array) $vars->getChildren() as $child) {
                    if (is_object($child) && method_exists($child, 'getName')) {
                        $items[] = [
                            'name' => (string) $child->getName(),
                            'label' => method_exists($child, 'getLabel') ? (string) $child->getLabel() : '',
                            'order' => method_exists($child, 'getOrder') ? (int) $child->getOrder() : 0,
                        ];
                    }
                }
            }
            return ['items' => $items, 'clientid' => (int) ($_SESSION['uid'] ?? 0) ?: null];
        }
        $plain = self::plain($vars, 0, true);
        return is_array($plain) ? $plain : [];
    }

    private function toWhmcs(string $hook, mixed $answer, mixed $vars): mixed
    {
        $style = self::STYLE[$hook] ?? 'ignored';
        $kind = is_array($answer) ? ($answer['kind'] ?? 'none') : 'none';
        if ($style === 'merge') {
            if ($kind !== 'merge' || !is_array($answer['values'] ?? null)) {
                return [];
            }
            $values = $answer['values'];
            foreach (['abortsend', 'abortcmd'] as $control) {
                if (array_key_exists($control, $values)) {
                    $values[$control] = $values[$control] === true;
                }
            }
            return $values;
        }
        if ($style === 'html') {
            return $kind === 'html' ? (string) ($answer['html'] ?? '') : '';
        }
        if ($style === 'menu' && $kind === 'menu' && is_array($answer['ops'] ?? null) && is_object($vars)) {
            self::applyMenu($vars, $answer['ops']);
        }
        return null;
    }

    /** Replays the service's changes on WHMCS's menu object. @param array<mixed> $ops */
    private static function applyMenu(object $root, array $ops): void
    {
        $find = static function (array $path) use ($root): ?object {
            $item = $root;
            foreach ($path as $name) {
                if (!method_exists($item, 'getChild')) {
                    return null;
                }
                $item = $item->getChild((string) $name);
                if (!is_object($item)) {
                    return null;
                }
            }
            return $item;
        };
        foreach ($ops as $op) {
            if (!is_array($op) || !is_array($op['path'] ?? null) || $op['path'] === []) {
                continue;
            }
            $path = array_map('strval', array_values($op['path']));
            switch ($op['op'] ?? '') {
                case 'add':
                    $parent = $find(array_slice($path, 0, -1));
                    if ($parent !== null && method_exists($parent, 'addChild')) {
                        $options = [];
                        foreach (is_array($op['options'] ?? null) ? $op['options'] : [] as $k => $v) {
                            if (in_array($k, ['label', 'uri', 'icon', 'badge', 'bodyHtml', 'footerHtml'], true)) {
                                $options[$k] = (string) $v;
                            } elseif ($k === 'order') {
                                $options['order'] = (int) $v;
                            } elseif ($k === 'extras' && is_array($v)) {
                                $options['extras'] = array_map('strval', $v);
                            }
                        }
                        $parent->addChild(end($path), $options);
                    }
                    break;
                case 'set':
                    $item = $find($path);
                    $method = 'set' . ucfirst((string) ($op['field'] ?? ''));
                    if ($item !== null && in_array($method, ['setLabel', 'setUri', 'setOrder', 'setIcon', 'setBadge', 'setBodyHtml', 'setFooterHtml'], true) && method_exists($item, $method)) {
                        $item->{$method}($method === 'setOrder' ? (int) ($op['value'] ?? 0) : (string) ($op['value'] ?? ''));
                    }
                    break;
                case 'extra':
                    $item = $find($path);
                    if ($item !== null && method_exists($item, 'setExtra')) {
                        $item->setExtra((string) ($op['key'] ?? ''), (string) ($op['value'] ?? ''));
                    }
                    break;
                case 'remove':
                    $parent = $find(array_slice($path, 0, -1));
                    if ($parent !== null && method_exists($parent, 'removeChild')) {
                        $parent->removeChild(end($path));
                    }
                    break;
            }
        }
    }

    /**
     * The documented failure behaviour (docs/whmcs.md, "When the service is down").
     *
     * @param array<string, mixed> $vars
     */
    private function failed(string $hook, array $vars, string $reason): mixed
    {
        $closed = $this->settings->failClosed;
        switch ($hook) {
            case 'InvoiceCreation':
            case 'InvoicePaid':
            case 'AddInvoicePayment':
            case 'InvoiceCancelled':
                $this->store->saveMissed($hook, $vars);
                $invoice = (int) ($vars['invoiceid'] ?? 0);
                self::log($hook === 'InvoiceCreation'
                    ? "Overusage: the service could not be asked about new Invoice ID: {$invoice} ({$reason}). The invoice goes ahead without overusage lines; they are added to it automatically once the service answers again (tried on every cron run), never twice."
                    : "Overusage: the service was not told about {$hook} for Invoice ID: {$invoice} ({$reason}); it is told on the next cron run once it answers again.");
                return null;
            case 'EmailPreSend':
                $template = (string) ($vars['messagename'] ?? '');
                $relid = (int) ($vars['relid'] ?? 0);
                if ($closed && in_array($template, self::GUARDED_TEMPLATES, true)) {
                    self::log("Overusage: the service could not check the email \"{$template}\" (related ID {$relid}): {$reason}. The email was NOT sent (fail closed): a disputed overusage line may be involved. WHMCS does not send it again by itself; resend it from the client's profile if it was due.");
                    return ['abortsend' => true];
                }
                self::log("Overusage: the service could not check the email \"{$template}\" (related ID {$relid}): {$reason}. The email was sent as usual" . ($closed ? ' (it is not a reminder or overdue notice).' : ' (fail open).'));
                return [];
            case 'PreModuleSuspend':
                $params = is_array($vars['params'] ?? null) ? $vars['params'] : [];
                $service = (int) ($params['serviceid'] ?? $params['accountid'] ?? 0);
                if ($closed) {
                    self::log("Overusage: the service could not check the suspension of Service ID: {$service}: {$reason}. The suspension was postponed (fail closed); the next daily cron run tries again.");
                    return ['abortcmd' => true];
                }
                self::log("Overusage: the service could not check the suspension of Service ID: {$service}: {$reason}. The suspension went ahead (fail open).");
                return [];
            default:
                self::logThrottled($this->store, $hook, "Overusage: the service could not handle {$hook}: {$reason}." . ($hook === 'AfterCronJob' || $hook === 'DailyCronJob' ? ' Usage samples missed now are taken on a later run where possible.' : ''));
                return self::neutral($hook);
        }
    }

    private static function neutral(string $hook): mixed
    {
        return match (self::STYLE[$hook] ?? 'ignored') {
            'merge' => [],
            'html' => '',
            default => null,
        };
    }

    private static function log(string $message, int $clientId = 0): void
    {
        if (function_exists('logActivity')) {
            logActivity(substr($message, 0, 2000), $clientId);
        }
    }

    private static function logThrottled(?Store $store, string $kind, string $message): void
    {
        if (!in_array($kind, self::THROTTLED, true)) {
            self::log($message);
            return;
        }
        try {
            $t = ($store ?? new Store())->throttle($kind, 900);
        } catch (\Throwable $e) {
            $t = ['log' => true, 'suppressed' => 0];
        }
        if ($t['log']) {
            self::log($message . ($t['suppressed'] > 0 ? " ({$t['suppressed']} more like this in the last 15 minutes were not logged.)" : ''));
        }
    }

    private function deadlineFor(string $hook): int
    {
        return in_array($hook, ['AfterCronJob', 'DailyCronJob'], true) ? self::CRON_SECONDS : $this->settings->timeout;
    }

    /** @return array{method: string, query: array<mixed>, body: array<mixed>} */
    private static function currentRequest(): array
    {
        $method = strtoupper((string) ($_SERVER['REQUEST_METHOD'] ?? 'GET'));
        $query = self::plain($_GET);
        $body = self::plain($_POST);
        return ['method' => preg_match('/^[A-Z]{3,7}$/', $method) === 1 ? $method : 'GET', 'query' => is_array($query) ? $query : [], 'body' => is_array($body) ? $body : []];
    }

    /**
     * Plain data for JSON: scalars, arrays, objects through toArray() (WHMCS's models); nothing
     * deeper than 6 levels. Hook vars lose keys that hold secrets (a module's server password).
     */
    private static function plain(mixed $v, int $depth = 0, bool $dropSecrets = false): mixed
    {
        if ($depth > 6) {
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
                return self::plain($v, $depth + 1, $dropSecrets);
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
            if ($dropSecrets && is_string($k) && preg_match('/pass(word)?$|password|secret|accesshash|apikey|api_key|token/i', $k) === 1) {
                continue;
            }
            $out[$k] = self::plain($x, $depth + 1, $dropSecrets);
        }
        return $out;
    }
}
