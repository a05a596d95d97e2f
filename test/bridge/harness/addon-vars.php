<?php
/**
 * The $vars WHMCS hands an addon's _output and _clientarea: the saved settings, modulelink, the
 * installed version, and _lang read from the addon's lang/ file for the language in use (English
 * when the addon has none for it), as WHMCS loads addon language files.
 */
function harness_addon_vars(string $addonDir, string $link, string $language): array
{
    $vars = ['modulelink' => $link, 'version' => '', '_lang' => []];
    foreach (\WHMCS\Database\Capsule::table('tbladdonmodules')->where('module', 'overusage')->get() as $row) {
        $vars[$row->setting] = $row->value;
    }
    $file = $addonDir . '/lang/' . (preg_match('/^[a-z]+$/', $language) === 1 && is_file($addonDir . '/lang/' . $language . '.php') ? $language : 'english') . '.php';
    $_ADDONLANG = [];
    include $file;
    $vars['_lang'] = $_ADDONLANG;
    return $vars;
}
