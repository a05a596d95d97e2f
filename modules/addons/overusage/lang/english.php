<?php
/**
 * Overusage (the WHMCS bridge): its own words, English. The pages' content comes from the
 * Overusage service in the admin's or client's language; these are the bridge's messages around it.
 */

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

$_ADDONLANG['page_title'] = 'Bandwidth usage';
$_ADDONLANG['not_configured'] = 'Overusage is not set up yet: %s.';
$_ADDONLANG['no_admin'] = 'Overusage: no administrator is logged in.';
$_ADDONLANG['unreachable_title'] = 'The Overusage service cannot be reached.';
$_ADDONLANG['unreachable_hint'] = 'Check that it is running at %s and that the shared secret matches (Setup > Addon Modules > Overusage > Configure).';
$_ADDONLANG['client_unavailable'] = 'Your usage figures cannot be shown right now. Please try again later.';
$_ADDONLANG['form_refused'] = 'Nothing was changed: the form had expired or did not come from this page. Please try again.';
$_ADDONLANG['download_failed'] = 'The file cannot be made right now. Please try again later.';
$_ADDONLANG['activated_configure'] = 'Overusage is active. Now click Configure and set the service URL and the shared secret.';
$_ADDONLANG['tables_failed'] = 'Overusage could not create its tables in the WHMCS database: %s';
$_ADDONLANG['deactivated'] = 'Overusage is deactivated.';
$_ADDONLANG['deactivated_not_told'] = 'Overusage is deactivated in WHMCS, but the service could not be told: %s';
$_ADDONLANG['tables_dropped'] = 'The bridge\'s tables in the WHMCS database were deleted too.';
$_ADDONLANG['service_unreachable'] = 'The Overusage service could not be reached: %s';
