<?php

declare(strict_types=1);

namespace WHMCS\Module\Addon\Overusage;

/**
 * The bridge's own words (lang/<language>.php, WHMCS's $_ADDONLANG format), in the language WHMCS
 * chose: for the admin tab and the client page WHMCS hands them over as $vars['_lang']; elsewhere
 * (activation, hooks) they are read here for the session's language. English fills any gap.
 */
final class Lang
{
    /** @var array<string, array<string, string>> */
    private static array $files = [];

    /** @param array<string, string> $words */
    private function __construct(private readonly array $words)
    {
    }

    /** $vars['_lang'] as WHMCS passes it, over English. @param array<string, mixed> $vars */
    public static function fromVars(array $vars, string $fallbackLanguage = ''): self
    {
        $given = is_array($vars['_lang'] ?? null) ? array_filter($vars['_lang'], 'is_string') : [];
        $base = $given === [] && $fallbackLanguage !== '' ? self::file($fallbackLanguage) : [];
        return new self(array_merge(self::file('english'), $base, $given));
    }

    public static function forLanguage(string $language): self
    {
        return new self(array_merge(self::file('english'), self::file($language)));
    }

    /** The admin's language for this session (WHMCS keeps it as adminlang). */
    public static function forAdmin(): self
    {
        return self::forLanguage((string) ($_SESSION['adminlang'] ?? ''));
    }

    public function get(string $key, string ...$args): string
    {
        $text = $this->words[$key] ?? $key;
        return $args === [] ? $text : vsprintf($text, $args);
    }

    /** @return array<string, string> */
    private static function file(string $language): array
    {
        $language = strtolower(trim($language));
        if (preg_match('/^[a-z][a-z_-]{1,30}$/', $language) !== 1) {
            return [];
        }
        if (!array_key_exists($language, self::$files)) {
            $path = dirname(__DIR__) . '/lang/' . $language . '.php';
            self::$files[$language] = is_file($path) ? self::read($path) : [];
        }
        return self::$files[$language];
    }

    /** @return array<string, string> */
    private static function read(string $path): array
    {
        $_ADDONLANG = [];
        include $path;
        return array_filter($_ADDONLANG, 'is_string');
    }
}
