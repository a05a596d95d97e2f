<?php

declare(strict_types=1);

namespace WHMCS\Module\Addon\Overusage;

/**
 * The add-on's version, the same number as the service's package.json ("npm version" rewrites this
 * file; test/bridge/addon-folder.test.ts fails when the two differ). WHMCS calls overusage_upgrade()
 * when it changes.
 */
final class Version
{
    public const NUMBER = '0.1.0';
}
