<?php

declare(strict_types=1);

namespace WHMCS\Module\Addon\Overusage;

/**
 * WHMCS's hook-answer semantics for the PHP side (docs/whmcs.md, "Hook answers"). GENERATED from
 * module/domain/hook-answers.ts by tools/hook-answers-php.ts (npm run generate:php): do not edit.
 */
final class HookAnswers
{
    /** how WHMCS treats each hook's return value; a hook not listed ignores it */
    public const STYLE = [
        'PreModuleSuspend' => 'merge',
        'PreModuleUnsuspend' => 'merge',
        'PreModuleTerminate' => 'merge',
        'EmailPreSend' => 'merge',
        'EmailPreLog' => 'merge',
        'PreInvoiceAutomaticCancellation' => 'merge',
        'ClientAreaPageViewInvoice' => 'merge',
        'ClientAreaPageProductDetails' => 'merge',
        'AdminAreaPage' => 'merge',
        'AdminClientServicesTabFields' => 'merge',
        'DailyCronJobPreEmail' => 'any_true',
        'ClientAreaHomepage' => 'html',
        'ClientAreaProductDetailsOutput' => 'html',
        'AdminAreaClientSummaryPage' => 'html',
        'AdminInvoicesControlsOutput' => 'html',
        'ClientAreaHomepagePanels' => 'menu',
        'ClientAreaPrimarySidebar' => 'menu',
        'ClientAreaSecondarySidebar' => 'menu',
    ];

    /** the keys of a merged answer that stop what WHMCS was about to do: true or false, nothing else */
    public const CONTROL_KEYS = [
        'abortcmd',
        'abortsend',
        'abortCancel',
        'abortLogging',
    ];
}
