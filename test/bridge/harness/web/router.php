<?php
/**
 * WHMCS's page shell for the browser tests, run by `php -S 127.0.0.1:<port> -t <whmcs root>
 * router.php`: the parts of WHMCS's admin area and client area an addon lives in, around the addon
 * installed in <whmcs root>/modules/addons/overusage/ (unzipped from the package, as docs/whmcs.md
 * says). The stand-in is test/bridge/harness/whmcs.php (real Capsule on the test's MariaDB, localAPI
 * to the reference panel); the client page's template is rendered by Smarty (Debian's smarty4).
 *
 *   /harness/login.php?as=admin|client&id=N[&lang=dutch][&to=…]   a WHMCS session (login is not under test)
 *   /admin/configaddonmods.php                                      Setup > Addon Modules: activate, configure, deactivate
 *   /admin/addonmodules.php?module=overusage                        the addon's admin tab (_output inside the admin page)
 *   /index.php?m=overusage                                          the addon's client page (_clientarea, clientarea.tpl)
 *   /clientarea.php                                                 the client home page (ClientAreaHomepagePanels), or "log in"
 *   anything else                                                   a file under the WHMCS root (the addon's assets), or 404
 *
 * Configuration: the JSON file named by OVERUSAGE_HARNESS_CONFIG: {db, panelApi, sessionDir,
 * compileDir, moduleLogFile, errorLogFile, smarty}. Every PHP error, warning or notice is appended
 * to errorLogFile, so a test can insist there is none.
 */

$config = json_decode((string) file_get_contents((string) getenv('OVERUSAGE_HARNESS_CONFIG')), true);
$root = (string) $_SERVER['DOCUMENT_ROOT'];
$path = (string) parse_url((string) $_SERVER['REQUEST_URI'], PHP_URL_PATH);

$pages = ['/harness/login.php', '/admin/configaddonmods.php', '/admin/addonmodules.php', '/index.php', '/', '/clientarea.php'];
if (!in_array($path, $pages, true)) {
    // the web server serves files; PHP files in the addon answer for themselves ("cannot be accessed directly")
    return is_file($root . $path) ? false : harness_not_found();
}

error_reporting(E_ALL);
ini_set('display_errors', '0');
set_error_handler(static function (int $no, string $message, string $file = '', int $line = 0) use ($config): bool {
    file_put_contents((string) $config['errorLogFile'], "PHP error {$no}: {$message} at {$file}:{$line}\n", FILE_APPEND | LOCK_EX);
    return true;
});
register_shutdown_function(static function () use ($config): void {
    $last = error_get_last();
    if ($last !== null && in_array($last['type'], [E_ERROR, E_PARSE, E_CORE_ERROR, E_COMPILE_ERROR, E_USER_ERROR], true)) {
        file_put_contents((string) $config['errorLogFile'], "PHP fatal: {$last['message']} at {$last['file']}:{$last['line']}\n", FILE_APPEND | LOCK_EX);
    }
});

require __DIR__ . '/../whmcs.php';
require __DIR__ . '/../addon-vars.php';
harness_boot(['db' => (string) $config['db'], 'panelApi' => $config['panelApi'], 'moduleLogFile' => (string) $config['moduleLogFile']]);
session_save_path((string) $config['sessionDir']);
session_name('WHMCSsession');
session_start();

$addonDir = $root . '/modules/addons/overusage';
$addonActive = \WHMCS\Database\Capsule::table('tbladdonmodules')->where('module', 'overusage')->where('setting', 'version')->exists();
if ($addonActive) {
    // WHMCS loads an active addon's hooks on every page
    require_once $addonDir . '/overusage.php';
    require_once $addonDir . '/hooks.php';
}

switch ($path) {
    case '/harness/login.php':
        session_regenerate_id(true);
        $_SESSION = [];
        if (($_GET['as'] ?? '') === 'admin') {
            $_SESSION['adminid'] = (int) $_GET['id'];
            $_SESSION['adminlang'] = (string) ($_GET['lang'] ?? 'english');
        } else {
            $_SESSION['uid'] = (int) $_GET['id'];
            $_SESSION['Language'] = (string) ($_GET['lang'] ?? 'english');
        }
        harness_redirect((string) ($_GET['to'] ?? '/'));
        break;
    case '/admin/configaddonmods.php':
        harness_require_admin();
        harness_config_addons($addonDir, $addonActive);
        break;
    case '/admin/addonmodules.php':
        harness_require_admin();
        if (($_GET['module'] ?? '') !== 'overusage' || !$addonActive) {
            harness_not_found();
        }
        // WHMCS calls _upgrade the first time the module is opened after its version changed
        $stored = (string) \WHMCS\Database\Capsule::table('tbladdonmodules')->where('module', 'overusage')->where('setting', 'version')->value('value');
        $version = (string) overusage_config()['version'];
        if ($stored !== $version) {
            overusage_upgrade(['version' => $stored]);
            \WHMCS\Database\Capsule::table('tbladdonmodules')->where('module', 'overusage')->where('setting', 'version')->update(['value' => $version]);
        }
        ob_start();
        overusage_output(harness_addon_vars($addonDir, 'addonmodules.php?module=overusage', (string) ($_SESSION['adminlang'] ?? '')));
        harness_admin_page('Overusage', (string) ob_get_clean());
        break;
    case '/':
    case '/index.php':
        if (($_GET['m'] ?? '') !== 'overusage' || !$addonActive) {
            harness_redirect('clientarea.php');
        }
        ob_start();
        $page = overusage_clientarea(harness_addon_vars($addonDir, 'index.php?m=overusage', (string) ($_SESSION['Language'] ?? '')));
        $stray = (string) ob_get_clean();
        if (!empty($page['requirelogin']) && (int) ($_SESSION['uid'] ?? 0) <= 0) {
            harness_redirect('clientarea.php');
        }
        require_once (string) $config['smarty'];
        $smarty = new Smarty();
        $smarty->setTemplateDir($addonDir . '/templates');
        $smarty->setCompileDir((string) $config['compileDir']);
        // escaping on by default: the template's nofilter is what shows the service's HTML as it is
        $smarty->escape_html = true;
        $smarty->assign((array) ($page['vars'] ?? []));
        $smarty->assign('modulelink', 'index.php?m=overusage');
        $body = $smarty->fetch(basename((string) $page['templatefile']) . '.tpl');
        harness_client_page((string) $page['pagetitle'], (array) ($page['breadcrumb'] ?? []), $stray . $body);
        break;
    case '/clientarea.php':
        if ((int) ($_SESSION['uid'] ?? 0) <= 0) {
            harness_client_page('Login', [], '<div class="alert alert-info">Please log in to continue.</div>');
            break;
        }
        $panels = new \WHMCS\View\Menu\Item('Homepage Panels');
        $panels->addChild('Active Products/Services', ['label' => 'Your Active Products/Services', 'order' => 100, 'bodyHtml' => '<p>VPS</p>']);
        harness_run_hook('ClientAreaHomepagePanels', $panels);
        $cards = '';
        $children = $panels->getChildren();
        uasort($children, static fn ($a, $b) => $a->getOrder() <=> $b->getOrder());
        foreach ($children as $p) {
            $link = (string) ($p->extras['btn-link'] ?? '');
            $cards .= '<div class="card mb-3" data-panel="' . htmlspecialchars($p->getName(), ENT_QUOTES) . '"><div class="card-header">' . htmlspecialchars($p->getLabel(), ENT_QUOTES)
                . ($p->badge !== '' ? ' <span class="badge badge-info">' . htmlspecialchars($p->badge, ENT_QUOTES) . '</span>' : '') . '</div><div class="card-body">' . $p->bodyHtml . '</div>'
                . ($link !== '' ? '<div class="card-footer"><a class="btn btn-sm btn-default" href="' . htmlspecialchars($link, ENT_QUOTES) . '">' . htmlspecialchars((string) ($p->extras['btn-text'] ?? ''), ENT_QUOTES) . '</a></div>' : '') . '</div>';
        }
        harness_client_page('Client Area', [], $cards);
        break;
}

function harness_not_found(): bool
{
    http_response_code(404);
    header('Content-Type: text/plain');
    echo 'Not Found';
    exit;
}

function harness_redirect(string $to): void
{
    header('Location: ' . $to, true, 302);
    exit;
}

function harness_require_admin(): void
{
    if ((int) ($_SESSION['adminid'] ?? 0) <= 0) {
        http_response_code(403);
        echo 'Admin login required';
        exit;
    }
}

function h(string $s): string
{
    return htmlspecialchars($s, ENT_QUOTES, 'UTF-8');
}

/** WHMCS's admin area: Bootstrap 3, the addon's output in the content area. */
function harness_admin_page(string $title, string $content): void
{
    header('Content-Type: text/html; charset=utf-8');
    echo '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>' . h($title) . ' - WHMCS</title><link rel="icon" href="data:,">'
        . '<link rel="stylesheet" href="../assets/css/bootstrap3.min.css"></head><body>'
        . '<nav class="navbar navbar-inverse navbar-static-top"><div class="container-fluid"><span class="navbar-brand">WHMCS</span>'
        . '<ul class="nav navbar-nav"><li><a href="configaddonmods.php">Addon Modules</a></li><li><a href="addonmodules.php?module=overusage">Overusage</a></li></ul></div></nav>'
        . '<div class="container-fluid" id="contentarea"><h1>' . h($title) . '</h1>' . $content . '</div></body></html>';
}

/** WHMCS's client area ("Twenty-One" is Bootstrap 4): page title, breadcrumb, the template's output. */
function harness_client_page(string $title, array $breadcrumb, string $content): void
{
    header('Content-Type: text/html; charset=utf-8');
    $crumbs = '<li class="breadcrumb-item"><a href="index.php">Portal Home</a></li>';
    foreach ($breadcrumb as $url => $label) {
        $crumbs .= '<li class="breadcrumb-item active"><a href="' . h((string) $url) . '">' . h((string) $label) . '</a></li>';
    }
    echo '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>' . h($title) . ' - Example Hosting</title><link rel="icon" href="data:,">'
        . '<link rel="stylesheet" href="assets/css/bootstrap4.min.css"></head><body>'
        . '<nav class="navbar navbar-light bg-light mb-3"><span class="navbar-brand">Example Hosting</span><a class="nav-link" href="clientarea.php">Client Area</a></nav>'
        . '<main class="container"><nav aria-label="breadcrumb"><ol class="breadcrumb">' . $crumbs . '</ol></nav><h1>' . h($title) . '</h1>' . $content . '</main></body></html>';
}

/**
 * Setup > Addon Modules for the one addon: Activate (WHMCS stores the version, then shows the
 * fields), Configure (the fields of overusage_config(), saved by key), Deactivate (WHMCS deletes
 * the addon's settings). Each form carries WHMCS's token; a post is checked as WHMCS does.
 */
function harness_config_addons(string $addonDir, bool $active): void
{
    $message = '';
    if (($_SERVER['REQUEST_METHOD'] ?? '') === 'POST') {
        check_token('WHMCS.admin.default');
        require_once $addonDir . '/overusage.php';
        $table = static fn () => \WHMCS\Database\Capsule::table('tbladdonmodules');
        switch ($_POST['action'] ?? '') {
            case 'activate':
                $r = overusage_activate();
                if (($r['status'] ?? '') !== 'error') {
                    $table()->updateOrInsert(['module' => 'overusage', 'setting' => 'version'], ['value' => (string) overusage_config()['version']]);
                    $table()->updateOrInsert(['module' => 'overusage', 'setting' => 'access'], ['value' => '1']);
                    $active = true;
                }
                $message = harness_result($r);
                break;
            case 'save':
                foreach (overusage_config()['fields'] as $key => $field) {
                    $value = $field['Type'] === 'yesno' ? (isset($_POST['fields'][$key]) ? 'on' : '') : (string) ($_POST['fields'][$key] ?? '');
                    $table()->updateOrInsert(['module' => 'overusage', 'setting' => $key], ['value' => $value]);
                }
                $message = '<div class="alert alert-success">Changes Saved Successfully!</div>';
                break;
            case 'deactivate':
                $r = overusage_deactivate();
                if (($r['status'] ?? '') !== 'error') {
                    $table()->where('module', 'overusage')->delete();
                    $active = false;
                }
                $message = harness_result($r);
                break;
        }
    }
    $token = generate_token('form');
    $row = '<tr data-module="overusage"><td><strong>Overusage</strong></td><td>';
    if (!$active) {
        $row .= '<form method="post">' . $token . '<input type="hidden" name="action" value="activate"><button type="submit" class="btn btn-success">Activate</button></form>';
    } else {
        require_once $addonDir . '/overusage.php';
        $config = overusage_config();
        $saved = [];
        foreach (\WHMCS\Database\Capsule::table('tbladdonmodules')->where('module', 'overusage')->get() as $r) {
            $saved[$r->setting] = (string) $r->value;
        }
        $fields = '';
        foreach ($config['fields'] as $key => $f) {
            $name = 'fields[' . h($key) . ']';
            $value = $saved[$key] ?? (string) ($f['Default'] ?? '');
            $input = match ($f['Type']) {
                'password' => '<input type="password" class="form-control" name="' . $name . '" value="' . h($value) . '">',
                'yesno' => '<input type="checkbox" name="' . $name . '"' . ($value === 'on' ? ' checked' : '') . '>',
                'dropdown' => '<select class="form-control" name="' . $name . '">' . implode('', array_map(static fn ($k, $v) => '<option value="' . h((string) $k) . '"' . ((string) $k === $value ? ' selected' : '') . '>' . h((string) $v) . '</option>', array_keys($f['Options']), $f['Options'])) . '</select>',
                default => '<input type="text" class="form-control" name="' . $name . '" value="' . h($value) . '">',
            };
            $fields .= '<div class="form-group"><label>' . h($f['FriendlyName']) . ' ' . $input . '</label><p class="help-block">' . h((string) ($f['Description'] ?? '')) . '</p></div>';
        }
        $row .= '<details><summary class="btn btn-default">Configure</summary><form method="post" data-form="configure">' . $token . '<input type="hidden" name="action" value="save">' . $fields
            . '<button type="submit" class="btn btn-primary">Save Changes</button></form></details>'
            . '<form method="post">' . $token . '<input type="hidden" name="action" value="deactivate"><button type="submit" class="btn btn-danger">Deactivate</button></form>';
    }
    $row .= '</td></tr>';
    harness_admin_page('Addon Modules', $message . '<table class="table"><tbody>' . $row . '</tbody></table>');
}

function harness_result(array $r): string
{
    $kind = ['success' => 'success', 'info' => 'info', 'error' => 'danger'][$r['status'] ?? 'info'] ?? 'info';
    return '<div class="alert alert-' . $kind . '" data-result="' . h((string) ($r['status'] ?? '')) . '">' . h((string) ($r['description'] ?? '')) . '</div>';
}
