<?php
/**
 * The part of WHMCS the bridge touches, for tests under php-cli: add_hook/run_hook, logActivity,
 * localAPI (forwarded to the reference panel's External API at /includes/api.php with API
 * credentials, so the bridge meets the same panel the module meets in-process), the session,
 * Capsule over tbladdonmodules (kept in a JSON file so it outlives one PHP process, like a
 * database), and the menu object of ClientAreaHomepagePanels.
 */

namespace {
    define('WHMCS', true);

    $GLOBALS['__harness'] = ['hooks' => [], 'activity' => [], 'localApi' => []];

    function add_hook($name, $priority, $fn)
    {
        $GLOBALS['__harness']['hooks'][$name][] = ['priority' => $priority, 'fn' => $fn];
    }

    /** WHMCS calls every handler of a hook point and collects their answers. */
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

    function logActivity($description, $userId = 0)
    {
        $GLOBALS['__harness']['activity'][] = ['description' => (string) $description, 'userid' => (int) $userId];
        // also into the reference panel's activity log, as WHMCS would write it
        harness_panel_call('LogActivity', ['description' => (string) $description, 'clientid' => (int) $userId]);
    }

    function localAPI($command, $values = [], $adminUser = '')
    {
        $GLOBALS['__harness']['localApi'][] = $command;
        $fail = $GLOBALS['__harness']['input']['failLocalApi'] ?? [];
        if (in_array($command, is_array($fail) ? $fail : [], true)) {
            throw new \RuntimeException('injected localAPI failure');
        }
        return harness_panel_call($command, is_array($values) ? $values : []);
    }

    function harness_panel_call(string $command, array $values): array
    {
        $api = $GLOBALS['__harness']['input']['panelApi'] ?? null;
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
}

namespace WHMCS\Database {
    /** Capsule::table() for the one table the bridge uses, backed by a JSON file. */
    final class Capsule
    {
        public static function table(string $name): HarnessQuery
        {
            if ($name !== 'tbladdonmodules') {
                throw new \LogicException("the harness has no table {$name}");
            }
            return new HarnessQuery();
        }
    }

    final class HarnessQuery
    {
        /** @var list<callable> */
        private array $wheres = [];

        private static function file(): string
        {
            return (string) $GLOBALS['__harness']['input']['stateFile'];
        }

        /** Runs $fn on the rows under an exclusive lock; returns what it returns. */
        private static function locked(callable $fn)
        {
            $fp = fopen(self::file() . '.lock', 'c');
            flock($fp, LOCK_EX);
            try {
                $text = is_file(self::file()) ? (string) file_get_contents(self::file()) : '';
                $rows = $text === '' ? [] : (json_decode($text, true) ?: []);
                $before = $rows;
                $result = $fn($rows);
                if ($rows !== $before) {
                    file_put_contents(self::file(), json_encode(array_values($rows), JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE));
                }
                return $result;
            } finally {
                flock($fp, LOCK_UN);
                fclose($fp);
            }
        }

        public function where(string $column, $opOrValue, $value = null): self
        {
            if (func_num_args() === 2) {
                $this->wheres[] = static fn (array $r) => (string) ($r[$column] ?? '') === (string) $opOrValue;
            } elseif (strtolower((string) $opOrValue) === 'like') {
                $re = '';
                foreach (str_split((string) $value) as $ch) {
                    $re .= $ch === '%' ? '.*' : ($ch === '_' ? '.' : preg_quote($ch, '/'));
                }
                $re = '/^' . $re . '$/s';
                $this->wheres[] = static fn (array $r) => preg_match($re, (string) ($r[$column] ?? '')) === 1;
            } else {
                $this->wheres[] = static fn (array $r) => (string) ($r[$column] ?? '') === (string) $value;
            }
            return $this;
        }

        public function whereIn(string $column, array $values): self
        {
            $values = array_map('strval', $values);
            $this->wheres[] = static fn (array $r) => in_array((string) ($r[$column] ?? ''), $values, true);
            return $this;
        }

        private function matches(array $r): bool
        {
            foreach ($this->wheres as $w) {
                if (!$w($r)) {
                    return false;
                }
            }
            return true;
        }

        public function get(): array
        {
            return self::locked(fn (array &$rows) => array_values(array_map(static fn ($r) => (object) $r, array_filter($rows, fn ($r) => $this->matches($r)))));
        }

        public function first(): ?object
        {
            return $this->get()[0] ?? null;
        }

        public function count(): int
        {
            return count($this->get());
        }

        public function delete(): int
        {
            return self::locked(function (array &$rows) {
                $n = count($rows);
                $rows = array_values(array_filter($rows, fn ($r) => !$this->matches($r)));
                return $n - count($rows);
            });
        }

        public function updateOrInsert(array $attributes, array $values): bool
        {
            return self::locked(static function (array &$rows) use ($attributes, $values) {
                foreach ($rows as $i => $r) {
                    $hit = true;
                    foreach ($attributes as $k => $v) {
                        if ((string) ($r[$k] ?? '') !== (string) $v) {
                            $hit = false;
                        }
                    }
                    if ($hit) {
                        $rows[$i] = array_merge($r, $values);
                        return true;
                    }
                }
                $rows[] = array_merge($attributes, $values);
                return true;
            });
        }
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
