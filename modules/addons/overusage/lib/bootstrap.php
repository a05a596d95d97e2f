<?php

declare(strict_types=1);

// WHMCS autoloads lib/ under WHMCS\Module\Addon\Overusage\; loading by hand as well keeps the
// bridge working where that autoloader is not registered (hooks.php on some versions).
foreach (['BridgeFailure', 'Version', 'PlainData', 'Settings', 'Signer', 'Lang', 'ModuleLog', 'ActivityLog', 'HttpClient', 'Schema', 'Store', 'Relay', 'HookAnswers', 'Hooks', 'Pages', 'Lifecycle'] as $overusageClass) {
    if (!class_exists('WHMCS\\Module\\Addon\\Overusage\\' . $overusageClass, false)) {
        require_once __DIR__ . '/' . $overusageClass . '.php';
    }
}
unset($overusageClass);
