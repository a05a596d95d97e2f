<?php

declare(strict_types=1);

namespace WHMCS\Module\Addon\Overusage;

/** The service could not be asked, or its answer cannot be trusted; the message is for an admin. */
final class BridgeFailure extends \RuntimeException
{
    /** the module's settings are missing or invalid: nothing was sent */
    public const NOT_CONFIGURED = 1;
}
