<?php
/**
 * One WHMCS page load with the bridge installed, under php-cli: reads what to do as JSON on stdin,
 * loads the addon like WHMCS does (overusage.php, hooks.php), does it, and writes JSON on stdout:
 * {ret, echoed, activity, localApi, moduleLog, errors, menu, hooks, tokenRefused}. Every PHP error,
 * warning, notice or deprecation is caught and reported in `errors`, so a test can insist there are
 * none.
 *
 * Input: {action: hook|hooks|activate|deactivate|upgrade|output|clientarea|config, hook?, vars?,
 *         session?, get?, post?, method?, db, panelApi?: {url, identifier, secret},
 *         settings?: {service_url, …} (written to tbladdonmodules first), noCurl?, failLocalApi?,
 *         tokenFailure?: exit|false, addonDir?, menu?: [{name, label, order}]
 *         (ClientAreaHomepagePanels), service?: {...} (product details), fromVersion?}
 */

error_reporting(E_ALL);
ini_set('display_errors', '0');

$GLOBALS['__errors'] = [];
set_error_handler(static function (int $no, string $message, string $file = '', int $line = 0): bool {
    $GLOBALS['__errors'][] = "PHP error {$no}: {$message} at {$file}:{$line}";
    return true;
});
set_exception_handler(static function (\Throwable $e): void {
    $GLOBALS['__errors'][] = 'Uncaught ' . get_class($e) . ': ' . $e->getMessage() . ' at ' . $e->getFile() . ':' . $e->getLine();
});

$input = json_decode((string) stream_get_contents(STDIN), true);
if (!is_array($input)) {
    fwrite(STDERR, "run.php: stdin is not a JSON object\n");
    exit(2);
}

require __DIR__ . '/whmcs.php';
require __DIR__ . '/addon-vars.php';
harness_boot([
    'db' => (string) $input['db'],
    'panelApi' => $input['panelApi'] ?? null,
    'failLocalApi' => $input['failLocalApi'] ?? [],
    'tokenFailure' => (string) ($input['tokenFailure'] ?? 'exit'),
]);
$GLOBALS['__out'] = ['ret' => null, 'echoed' => '', 'menu' => null];

register_shutdown_function(static function (): void {
    $last = error_get_last();
    if ($last !== null && in_array($last['type'], [E_ERROR, E_PARSE, E_CORE_ERROR, E_COMPILE_ERROR, E_USER_ERROR], true)) {
        $GLOBALS['__errors'][] = "PHP fatal: {$last['message']} at {$last['file']}:{$last['line']}";
    }
    $echoed = '';
    while (ob_get_level() > 0) {
        $echoed = ob_get_clean() . $echoed;
    }
    $out = $GLOBALS['__out'];
    $out['echoed'] = ($out['echoed'] ?? '') . $echoed;
    $out['activity'] = $GLOBALS['__harness']['activity'];
    $out['localApi'] = $GLOBALS['__harness']['localApi'];
    $out['moduleLog'] = $GLOBALS['__harness']['moduleLog'];
    $out['hooks'] = harness_registered_hooks();
    $out['tokenRefused'] = $GLOBALS['__harness']['tokenRefused'] ?? null;
    $out['errors'] = $GLOBALS['__errors'];
    echo "\n", json_encode($out, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PARTIAL_OUTPUT_ON_ERROR | JSON_INVALID_UTF8_SUBSTITUTE), "\n";
});

if (!empty($input['noCurl'])) {
    define('OVERUSAGE_BRIDGE_NO_CURL', true);
}

$_SESSION = is_array($input['session'] ?? null) ? $input['session'] : [];
$_GET = is_array($input['get'] ?? null) ? $input['get'] : [];
$_POST = is_array($input['post'] ?? null) ? $input['post'] : [];
$_REQUEST = array_merge($_GET, $_POST);
$_SERVER['REQUEST_METHOD'] = (string) ($input['method'] ?? 'GET');

// the admin's saved configuration, as WHMCS keeps it in tbladdonmodules
if (is_array($input['settings'] ?? null)) {
    foreach ($input['settings'] as $k => $v) {
        \WHMCS\Database\Capsule::table('tbladdonmodules')->updateOrInsert(['module' => 'overusage', 'setting' => (string) $k], ['value' => (string) $v]);
    }
}

$addonDir = (string) ($input['addonDir'] ?? dirname(__DIR__, 3) . '/modules/addons/overusage');
ob_start();
require $addonDir . '/overusage.php';
require $addonDir . '/hooks.php';

switch ($input['action'] ?? '') {
    case 'hooks':
        break;
    case 'hook':
        $name = (string) $input['hook'];
        if ($name === 'ClientAreaHomepagePanels') {
            $menu = new \WHMCS\View\Menu\Item('Homepage Panels');
            foreach ((array) ($input['menu'] ?? []) as $p) {
                $menu->addChild((string) $p['name'], $p);
            }
            $answers = harness_run_hook($name, $menu);
            $GLOBALS['__out']['menu'] = $menu->toData()['children'];
        } elseif ($name === 'ClientAreaProductDetailsOutput') {
            $answers = harness_run_hook($name, ['service' => new \WHMCS\Service\Service((array) ($input['service'] ?? []))]);
        } else {
            $answers = harness_run_hook($name, is_array($input['vars'] ?? null) ? $input['vars'] : []);
        }
        $GLOBALS['__out']['ret'] = $answers[0] ?? null;
        $GLOBALS['__out']['answers'] = count($answers);
        break;
    case 'config':
        $GLOBALS['__out']['ret'] = overusage_config();
        break;
    case 'activate':
        $GLOBALS['__out']['ret'] = overusage_activate();
        break;
    case 'deactivate':
        $GLOBALS['__out']['ret'] = overusage_deactivate();
        break;
    case 'upgrade':
        $GLOBALS['__out']['ret'] = overusage_upgrade(['version' => (string) ($input['fromVersion'] ?? '0.0.1')]);
        break;
    case 'output':
        overusage_output(harness_addon_vars($addonDir, 'addonmodules.php?module=overusage', (string) ($_SESSION['adminlang'] ?? '')));
        break;
    case 'clientarea':
        $GLOBALS['__out']['ret'] = overusage_clientarea(harness_addon_vars($addonDir, 'index.php?m=overusage', (string) ($_SESSION['Language'] ?? '')));
        break;
    default:
        fwrite(STDERR, "run.php: unknown action\n");
        exit(2);
}
