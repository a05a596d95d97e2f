<?php
/**
 * Overusage (de WHMCS-brug): haar eigen woorden, Nederlands. De inhoud van de pagina's komt van de
 * Overusage-dienst in de taal van de beheerder of klant; dit zijn de meldingen van de brug errond.
 */

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

$_ADDONLANG['page_title'] = 'Dataverkeer';
$_ADDONLANG['not_configured'] = 'Overusage is nog niet ingesteld: %s.';
$_ADDONLANG['no_admin'] = 'Overusage: er is geen beheerder aangemeld.';
$_ADDONLANG['unreachable_title'] = 'De Overusage-dienst is niet bereikbaar.';
$_ADDONLANG['unreachable_hint'] = 'Controleer of hij draait op %s en of het gedeelde geheim overeenkomt (Setup > Addon Modules > Overusage > Configure).';
$_ADDONLANG['client_unavailable'] = 'Uw verbruikscijfers kunnen nu niet getoond worden. Probeer het later opnieuw.';
$_ADDONLANG['form_refused'] = 'Er is niets gewijzigd: het formulier was verlopen of kwam niet van deze pagina. Probeer het opnieuw.';
$_ADDONLANG['download_failed'] = 'Het bestand kan nu niet gemaakt worden. Probeer het later opnieuw.';
$_ADDONLANG['activated_configure'] = 'Overusage is actief. Klik nu op Configure en vul de URL van de dienst en het gedeelde geheim in.';
$_ADDONLANG['tables_failed'] = 'Overusage kon zijn tabellen in de WHMCS-database niet aanmaken: %s';
$_ADDONLANG['deactivated'] = 'Overusage is uitgeschakeld.';
$_ADDONLANG['deactivated_not_told'] = 'Overusage is uitgeschakeld in WHMCS, maar de dienst kon het niet gemeld worden: %s';
$_ADDONLANG['tables_dropped'] = 'De tabellen van de brug in de WHMCS-database zijn ook verwijderd.';
$_ADDONLANG['service_unreachable'] = 'De Overusage-dienst was niet bereikbaar: %s';
