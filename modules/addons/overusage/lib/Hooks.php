<?php

declare(strict_types=1);

namespace WHMCS\Module\Addon\Overusage;

/**
 * What hooks.php registers for every hook: the vars go to the service, and its answer comes back
 * with the hook's own return semantics (docs/whmcs.md, "Hook answers"; the table is HookAnswers.php,
 * generated from module/domain/hook-answers.ts): merged key/values (abortsend, abortcmd, …), HTML,
 * changes replayed on WHMCS's menu object, or nothing. When the service cannot be asked, the
 * documented failure behaviour applies and the activity log says so.
 */
final class Hooks
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
    public const REPLAYED = ['InvoiceCreation', 'AddInvoiceLateFee', 'InvoiceCancelled', 'InvoiceRefunded'];

    /** how WHMCS treats each hook's return value: HookAnswers::STYLE, generated from module/domain/hook-answers.ts */
    private const STYLE = HookAnswers::STYLE;

    /** the whole of a cron hook's conversation (metering many services takes a while, so does rating them) */
    private const CRON_SECONDS = 900;

    /** the hooks of WHMCS's cron that get CRON_SECONDS instead of the admin's timeout */
    public const CRON_HOOKS = ['PreCronJob', 'AfterCronJob', 'DailyCronJob'];

    private static ?self $current = null;

    public function __construct(private readonly Relay $relay, private readonly Store $store)
    {
    }

    /** The entry point of hooks.php: never throws, never echoes. */
    public static function relay(string $hook, mixed $vars): mixed
    {
        try {
            if (self::$current === null) {
                $settings = Settings::from(Store::settings());
                $store = new Store();
                self::$current = new self(new Relay($settings, new HttpClient($settings), $store), $store);
            }
        } catch (\Throwable $e) {
            ActivityLog::throttled(null, 'not_configured', 'Overusage is active but cannot reach its service: ' . $e->getMessage() . '. Hooks are passed over until this is fixed.');
            return self::neutral($hook);
        }
        return self::$current->handle($hook, $vars);
    }

    public function handle(string $hook, mixed $vars): mixed
    {
        $payloadVars = [];
        try {
            $payloadVars = $this->varsFor($hook, $vars);
            if ($hook === 'AfterCronJob') {
                $this->relay->catchUp();
            }
            $seconds = in_array($hook, self::CRON_HOOKS, true) ? self::CRON_SECONDS : $this->relay->settings->timeout;
            $answer = $this->relay->converse('hook', ['hook' => $hook, 'vars' => $payloadVars], $seconds);
            return $this->toWhmcs($hook, $answer, $vars);
        } catch (\Throwable $e) {
            $reason = $e instanceof BridgeFailure ? $e->getMessage() : 'the bridge failed (' . get_class($e) . ': ' . $e->getMessage() . ')';
            return $this->failed($hook, $payloadVars, $reason);
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
            return ['items' => $items, 'clientid' => (int) ($_SESSION['uid'] ?? 0) ?: null, 'language' => (string) ($_SESSION['Language'] ?? ''), 'host' => self::host()];
        }
        $plain = PlainData::of($vars, true);
        $plain = is_array($plain) ? $plain : [];
        if ((self::STYLE[$hook] ?? '') === 'html') {
            $plain['host'] = self::host();
        }
        return $plain;
    }

    /** For HTML the client sees inside WHMCS: our stylesheet from this folder, downloads through the client page. */
    private static function host(): array
    {
        return ['assets' => ['base' => 'modules/addons/overusage/assets', 'version' => Version::NUMBER], 'downloads' => 'host'];
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
            foreach (HookAnswers::CONTROL_KEYS as $control) {
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
        $closed = $this->relay->settings->failClosed;
        if (in_array($hook, self::REPLAYED, true)) {
            $invoice = (int) ($vars['invoiceid'] ?? 0);
            try {
                $this->store->saveMissed($hook, $vars);
            } catch (\Throwable $e) {
                ActivityLog::log("Overusage: {$hook} for Invoice ID: {$invoice} could not be kept for later ({$e->getMessage()}); it is lost.");
            }
            ActivityLog::log($hook === 'InvoiceCreation'
                ? "Overusage: the service could not be asked about new Invoice ID: {$invoice} ({$reason}). The invoice goes ahead without overusage lines; they are added to it automatically once the service answers again (tried on every cron run), never twice."
                : "Overusage: the service was not told about {$hook} for Invoice ID: {$invoice} ({$reason}); it is told on the next cron run once it answers again.");
            return null;
        }
        switch ($hook) {
            case 'EmailPreSend':
                $template = (string) ($vars['messagename'] ?? '');
                $relid = (int) ($vars['relid'] ?? 0);
                if ($closed && in_array($template, self::GUARDED_TEMPLATES, true)) {
                    ActivityLog::log("Overusage: the service could not check the email \"{$template}\" (related ID {$relid}): {$reason}. The email was NOT sent (fail closed): a disputed overusage line may be involved. WHMCS does not send it again by itself; resend it from the client's profile if it was due.");
                    return ['abortsend' => true];
                }
                ActivityLog::log("Overusage: the service could not check the email \"{$template}\" (related ID {$relid}): {$reason}. The email was sent as usual" . ($closed ? ' (it is not a reminder or overdue notice).' : ' (fail open).'));
                return [];
            case 'PreModuleSuspend':
                $params = is_array($vars['params'] ?? null) ? $vars['params'] : [];
                $service = (int) ($params['serviceid'] ?? $params['accountid'] ?? 0);
                if ($closed) {
                    ActivityLog::log("Overusage: the service could not check the suspension of Service ID: {$service}: {$reason}. The suspension was postponed (fail closed); the next daily cron run tries again.");
                    return ['abortcmd' => true];
                }
                ActivityLog::log("Overusage: the service could not check the suspension of Service ID: {$service}: {$reason}. The suspension went ahead (fail open).");
                return [];
            default:
                ActivityLog::throttled($this->store, $hook, "Overusage: the service could not handle {$hook}: {$reason}." . match ($hook) {
                    'AfterCronJob', 'DailyCronJob' => ' Usage samples missed now are taken on a later run where possible.',
                    'PreCronJob' => ' Each invoice created now rates its own services\' usage as it is created; DailyCronJob rates the rest.',
                    default => '',
                });
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
}
