{* The page's HTML comes from the Overusage service (escaped there); shown as it is. *}
<div class="overusage-client">
{$overusage_html nofilter}
</div>
