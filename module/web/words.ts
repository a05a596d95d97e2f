import { DISPUTE_REFUSALS } from '../domain/dispute-text.js';
import type { TextLanguage } from '../domain/line-text.js';

/**
 * The client widget's words in English and Dutch. Numbers, money and dates are formatted before
 * they get here (module/domain/line-text.ts); these only put them in a sentence.
 */
const plural = (n: number, one: string, many: string) => (n === 1 ? one : many);

export const WIDGET_WORDS = {
  en: {
    title: 'Bandwidth usage',
    noServices: 'None of your services is metered.',
    /** a figure whose stored record cannot be read: no internals, the operator has the log line */
    figureUnavailable: 'This figure cannot be shown right now.',
    lineUnavailable: 'One of your lines cannot be shown right now.',
    periodUnavailable: 'One of your periods cannot be shown right now.',
    daysUnavailable: 'Some days of this chart cannot be shown right now.',
    service: 'Service',
    services: 'Your services',
    thisPeriod: 'This period',
    periodOpen: 'still running',
    used: 'Used',
    included: 'Included',
    ofAllowance: (used: string, allowance: string, pct: string) => `${used} of ${allowance} (${pct})`,
    usedNoAllowance: (used: string) => `${used} used`,
    noAllowance: 'No allowance is set for this service, so nothing is billed for its traffic.',
    measuredUntil: (date: string) => `Measured up to and including ${date}.`,
    notMeasured: 'Not measured yet: the first figures appear the day after the first reading.',
    meterLabel: (pct: string) => `${pct} of the allowance used`,
    poolUsed: (name: string, n: number, used: string, allowance: string, pct: string) =>
      `Transfer pool ${name} (${n} ${plural(n, 'VPS', 'VPSs')}): ${used} of ${allowance} used together (${pct})`,
    poolNote:
      'Your VPSs in this pool share one allowance for the calendar month: the meter, the notices and what happens at the limit count the whole pool; the chart below is this VPS alone.',
    poolMembers: 'The VPSs in the pool',
    poolMember: (label: string, used: string, part: string) =>
      `${label}: ${used} (${part} of the pool's traffic)`,
    poolThis: 'this VPS',
    projectedMark: (pct: string) => `at this pace by the end of the period: ${pct}`,
    marks: 'Notices are sent at',
    atThisPace: 'At this pace',
    projectedUse: (bytes: string, date: string) => `about ${bytes} by ${date}`,
    projectedCost: (amount: string) => `estimated overusage: ${amount}`,
    projectedNoCost: 'no overusage expected',
    runsOutOn: (date: string) => `the allowance runs out around ${date}`,
    runOutReached: 'the allowance is used up',
    runOutLasts: 'the allowance lasts the period',
    noTraffic: 'no traffic yet',
    perDay: 'Traffic per day',
    chartSummary: (period: string, days: number, missing: number, estimated: number) =>
      `Traffic per day, ${period}: ${days} ${plural(days, 'day', 'days')} shown` +
      (missing ? `, ${missing} without data` : '') +
      (estimated ? `, ${estimated} estimated` : '') +
      '. The table below gives every figure.',
    tableCaption: 'Daily figures',
    showTable: 'Show the daily figures as a table',
    date: 'Date',
    traffic: 'Traffic',
    note: 'Note',
    measured: 'measured',
    estimate: 'estimate: a gap in the readings, spread evenly over its days',
    estimateShort: 'estimate',
    missing: 'no data (not zero: the reading failed)',
    missingShort: 'no data',
    future: 'not yet',
    undecided:
      'the counter dropped: its traffic after the drop is not booked until we have checked what happened',
    pace: (amount: string) => `even pace: ${amount} a day`,
    legendMeasured: 'measured',
    legendEstimated: 'estimated',
    legendMissing: 'no data',
    downloadCsv: 'Download the daily figures (CSV)',
    pastPeriods: 'Past periods',
    noPastPeriods: 'No earlier period yet.',
    period: 'Period',
    over: 'Over',
    billed: 'Billed',
    toInvoice: 'To be invoiced',
    withinAllowance: 'within the allowance',
    notRated: 'not rated yet',
    writtenOff: 'written off',
    csv: 'CSV',
    chart: 'chart',
    shown: 'shown above',
    perDayShort: 'Per day',
    showDays: 'Show the daily figures of this period',
    backToNow: 'Back to this period',
    morePeriods: 'Earlier periods',
    lines: 'Overusage on your invoices',
    noLines: 'No overusage has been billed.',
    invoice: (n: number) => `invoice #${n}`,
    heldFrom: (n: number) => `held back from invoice #${n}`,
    wasOn: (n: number) => `was on invoice #${n}`,
    amount: 'Amount',
    status: 'Status',
    deadline: 'Dispute by',
    lineStatus: {
      pending: 'being placed on the invoice',
      placed: 'on the invoice',
      held: 'on hold, under dispute',
      refund_decision: 'under dispute (already paid)',
      waived: 'waived',
      adjusted: 'adjusted after dispute',
      upheld: 'upheld after dispute',
      withdrawn: 'dispute withdrawn, on the invoice',
      voided: 'not owed: invoice cancelled or refunded',
      released: 'taken off the invoice',
      resolving: 'dispute being resolved',
    } as Record<string, string>,
    left: (days: number, hours: number, minutes: number) =>
      days >= 2
        ? `${days} days left`
        : days === 1
          ? `1 day and ${hours} ${plural(hours, 'hour', 'hours')} left`
          : hours >= 1
            ? `${hours} ${plural(hours, 'hour', 'hours')} left`
            : `${Math.max(minutes, 1)} ${plural(minutes, 'minute', 'minutes')} left`,
    windowClosed: (date: string) =>
      `The window to dispute this line ended on ${date}; a dispute after it cannot be accepted.`,
    // the dispute service's own words for a line whose invoice was cancelled or refunded
    notOwed: DISPUTE_REFUSALS.en.notOwed,
    disputeThis: 'Dispute this line',
    reason: 'Why do you dispute it?',
    reasonHint: 'At least 3 characters. Say what you think is wrong, e.g. which days.',
    send: 'Send the dispute',
    disputeHelp: 'The line is put on hold while we look at it; the rest of the invoice stays due as usual.',
    disputeHelpPaid:
      'You have paid this invoice: nothing is held back, and if the line is reduced or waived you get the difference back.',
    disputed: (date: string) => `Disputed on ${date}`,
    yourReason: 'Reason given',
    creditNote: (invoiceId: number) => `credit note #${invoiceId}`,
    resolved: {
      upheld: (date: string, due: string) => `Upheld on ${date}; due on ${due}.`,
      adjusted: (date: string, before: string, after: string, due: string) =>
        `Adjusted on ${date} from ${before} to ${after}; due on ${due}.`,
      waived: (date: string, before: string) => `Waived on ${date}: you owe nothing for it (was ${before}).`,
      credited: (date: string, after: string, credit: string) =>
        `Decided on ${date}: the line now bills ${after}; you had paid it already, so we credited ${credit} to your account.`,
      refunded: (date: string, after: string, amount: string) =>
        `Decided on ${date}: the line now bills ${after}; you had paid it already, so we refund ${amount} to you.`,
      upheldPaid: (date: string) => `Upheld on ${date}; you had paid it already, so nothing changes.`,
      // VAT included; the credit note (linked) shows the line and its VAT reversed
      withdrawn: (date: string, due: string) => `You withdrew the dispute on ${date}; due on ${due}.`,
      voided: (date: string, invoice: number, refunded: boolean) =>
        `Closed on ${date}: invoice #${invoice} was ${refunded ? 'refunded to you' : 'cancelled'}, so you owe nothing for this line.`,
    },
    // what became of the credit a decision gave: "€500.00 credited to your account · €19.95 used on invoice #7 · €480.05 left"
    credit: {
      given: (amount: string) => `${amount} credited to your account`,
      usedOn: (amount: string) => `${amount} used on`,
      takenBack: (amount: string) => `${amount} taken off your credit`,
      left: (amount: string) => `${amount} left`,
    },
    withdraw: 'Withdraw the dispute',
    flashOpened: 'Your dispute was received. The line is on hold while we look at it.',
    flashOpenedPaid:
      'Your dispute was received. You had paid this line already: if it is reduced or waived, you get the difference back.',
    flashWithdrawn: 'Your dispute was withdrawn.',
    rateLimited: 'Too many disputes were sent from your account; please try again later.',
    alreadyDisputed: 'This line is already disputed.',
    notDisputable: 'This line cannot be disputed any more.',
    notFound: 'That line or dispute was not found.',
    disputesOff: 'Disputes cannot be sent here at the moment; please contact us.',
    badRequest: 'The form could not be read; please try again.',
    busy: 'We are handling this dispute right now; please try again in a moment.',
    noticeSent: (pct: number, date: string) =>
      `On ${date} we told you this period's traffic had reached ${pct}\u00a0% of the allowance.`,
    limitThrottled:
      'The allowance is used up: the speed of this VPS is limited until the next period starts.',
    limitSuspended: 'The allowance is used up: this VPS is suspended until the next period starts.',
    policyThrottle: 'When the allowance is used up, the speed of this VPS is limited until the next period.',
    policySuspend: 'When the allowance is used up, this VPS is suspended until the next period.',
    homeUsage: (used: string, allowance: string) => `${used} of ${allowance}`,
    homeDetails: 'Daily figures and invoices',
    homeOpenDisputes: (n: number) => `${n} ${plural(n, 'line', 'lines')} under dispute`,
    homeDisputable: (n: number) => `${n} ${plural(n, 'line', 'lines')} can still be disputed`,
    details: 'Details',
    counter: {
      unreadable: 'A note about this period cannot be shown right now.',
      resetMissed: (date: string) =>
        `SolusVM did not reset the counter on ${date}. We go on counting from where it stood, so no traffic is counted twice, and this period still ends on its usual day.`,
      resetMissedCame: (date: string) =>
        `SolusVM did not reset the counter on ${date}; the reset came later. No traffic was counted twice.`,
      resetMissedDropped: (date: string, on: string) =>
        `SolusVM did not reset the counter on ${date}. On ${on} the counter went down: that reset or a correction on the server, which we check before anything is billed for it. No traffic is counted twice.`,
      resetLate: (due: string, days: number, seen: string) =>
        `The counter reset due on ${due} came ${days} ${plural(days, 'day', 'days')} late (seen on ${seen}). Your periods did not move.`,
      dropOpen: (date: string, from: string, to: string) =>
        `The counter went down on ${date} (from ${from} to ${to}): a manual reset or a correction on the server. Until we have checked which, the ${to} it showed that day are not billed.`,
      dropReset: (date: string, since: string) =>
        `The counter was reset on ${date}; traffic between ${since} and the reset was not measured and is not billed.`,
      dropCorrection: (date: string) =>
        `The counter was corrected on ${date}; nothing was billed for the drop.`,
      unmeasured: (from: string, to: string) =>
        `Traffic from ${from} to ${to} was not measured (there was no reading before the reset) and is not billed.`,
      longGap: (days: number, to: string) =>
        `No reading for ${days} ${plural(days, 'day', 'days')} up to ${to}: the daily figures of those days are estimates; the total is exact.`,
      at: (time: string, date: string) => `${time} on ${date}`,
    },
  },
  nl: {
    title: 'Dataverkeer',
    noServices: 'Geen van uw diensten wordt gemeten.',
    figureUnavailable: 'Dit cijfer kan nu niet getoond worden.',
    lineUnavailable: 'Een van uw regels kan nu niet getoond worden.',
    periodUnavailable: 'Een van uw periodes kan nu niet getoond worden.',
    daysUnavailable: 'Sommige dagen van deze grafiek kunnen nu niet getoond worden.',
    service: 'Dienst',
    services: 'Uw diensten',
    thisPeriod: 'Deze periode',
    periodOpen: 'lopend',
    used: 'Gebruikt',
    included: 'Inbegrepen',
    ofAllowance: (used: string, allowance: string, pct: string) => `${used} van ${allowance} (${pct})`,
    usedNoAllowance: (used: string) => `${used} gebruikt`,
    noAllowance: 'Voor deze dienst is geen bundel ingesteld; het verkeer wordt niet gefactureerd.',
    measuredUntil: (date: string) => `Gemeten tot en met ${date}.`,
    notMeasured: 'Nog niet gemeten: de eerste cijfers verschijnen de dag na de eerste meting.',
    meterLabel: (pct: string) => `${pct} van de bundel gebruikt`,
    poolUsed: (name: string, n: number, used: string, allowance: string, pct: string) =>
      `Datapool ${name} (${n} ${plural(n, 'VPS', "VPS'en")}): samen ${used} van ${allowance} verbruikt (${pct})`,
    poolNote:
      "Uw VPS'en in deze pool delen één bundel per kalendermaand: de meter, de meldingen en wat er bij de limiet gebeurt tellen de hele pool; de grafiek hieronder is alleen deze VPS.",
    poolMembers: "De VPS'en in de pool",
    poolMember: (label: string, used: string, part: string) =>
      `${label}: ${used} (${part} van het verkeer van de pool)`,
    poolThis: 'deze VPS',
    projectedMark: (pct: string) => `in dit tempo op het einde van de periode: ${pct}`,
    marks: 'Meldingen worden verstuurd bij',
    atThisPace: 'In dit tempo',
    projectedUse: (bytes: string, date: string) => `ongeveer ${bytes} op ${date}`,
    projectedCost: (amount: string) => `geschatte overschrijding: ${amount}`,
    projectedNoCost: 'geen overschrijding verwacht',
    runsOutOn: (date: string) => `de bundel is op rond ${date}`,
    runOutReached: 'de bundel is op',
    runOutLasts: 'de bundel volstaat voor de hele periode',
    noTraffic: 'nog geen verkeer',
    perDay: 'Verkeer per dag',
    chartSummary: (period: string, days: number, missing: number, estimated: number) =>
      `Verkeer per dag, ${period}: ${days} ${plural(days, 'dag', 'dagen')}` +
      (missing ? `, ${missing} zonder gegevens` : '') +
      (estimated ? `, ${estimated} geschat` : '') +
      '. De tabel hieronder geeft elk cijfer.',
    tableCaption: 'Dagcijfers',
    showTable: 'Dagcijfers als tabel tonen',
    date: 'Datum',
    traffic: 'Verkeer',
    note: 'Opmerking',
    measured: 'gemeten',
    estimate: 'schatting: een onderbreking in de metingen, gelijk verdeeld over de dagen',
    estimateShort: 'schatting',
    missing: 'geen gegevens (niet nul: de meting mislukte)',
    missingShort: 'geen gegevens',
    future: 'nog niet',
    undecided:
      'de teller daalde: het verkeer na de daling telt pas mee als we hebben nagekeken wat er gebeurde',
    pace: (amount: string) => `gelijkmatig tempo: ${amount} per dag`,
    legendMeasured: 'gemeten',
    legendEstimated: 'geschat',
    legendMissing: 'geen gegevens',
    downloadCsv: 'Dagcijfers downloaden (CSV)',
    pastPeriods: 'Vorige periodes',
    noPastPeriods: 'Nog geen vorige periode.',
    period: 'Periode',
    over: 'Boven de bundel',
    billed: 'Gefactureerd',
    toInvoice: 'Nog te factureren',
    withinAllowance: 'binnen de bundel',
    notRated: 'nog niet berekend',
    writtenOff: 'kwijtgescholden',
    csv: 'CSV',
    chart: 'grafiek',
    shown: 'hierboven',
    perDayShort: 'Per dag',
    showDays: 'Dagcijfers van deze periode tonen',
    backToNow: 'Terug naar deze periode',
    morePeriods: 'Eerdere periodes',
    lines: 'Overschrijding op uw facturen',
    noLines: 'Er is geen overschrijding gefactureerd.',
    invoice: (n: number) => `factuur #${n}`,
    heldFrom: (n: number) => `opgeschort van factuur #${n}`,
    wasOn: (n: number) => `stond op factuur #${n}`,
    amount: 'Bedrag',
    status: 'Status',
    deadline: 'Bezwaar uiterlijk',
    lineStatus: {
      pending: 'wordt op de factuur gezet',
      placed: 'op de factuur',
      held: 'opgeschort, in betwisting',
      refund_decision: 'in betwisting (al betaald)',
      waived: 'kwijtgescholden',
      adjusted: 'aangepast na betwisting',
      upheld: 'gehandhaafd na betwisting',
      withdrawn: 'bezwaar ingetrokken, op de factuur',
      voided: 'niet verschuldigd: factuur geannuleerd of terugbetaald',
      released: 'van de factuur gehaald',
      resolving: 'bezwaar wordt afgehandeld',
    } as Record<string, string>,
    left: (days: number, hours: number, minutes: number) =>
      days >= 2
        ? `nog ${days} dagen`
        : days === 1
          ? `nog 1 dag en ${hours} uur`
          : hours >= 1
            ? `nog ${hours} uur`
            : `nog ${Math.max(minutes, 1)} ${plural(minutes, 'minuut', 'minuten')}`,
    windowClosed: (date: string) =>
      `De termijn om bezwaar te maken tegen deze regel liep tot en met ${date}; een bezwaar daarna kunnen we niet aanvaarden.`,
    notOwed: DISPUTE_REFUSALS.nl.notOwed,
    disputeThis: 'Bezwaar maken tegen deze regel',
    reason: 'Waarom maakt u bezwaar?',
    reasonHint: 'Minstens 3 tekens. Zeg wat volgens u niet klopt, bijvoorbeeld welke dagen.',
    send: 'Bezwaar indienen',
    disputeHelp:
      'De regel wordt opgeschort zolang we ernaar kijken; de rest van de factuur blijft gewoon verschuldigd.',
    disputeHelpPaid:
      'U hebt deze factuur betaald: er wordt niets opgeschort, en wordt de regel verlaagd of kwijtgescholden, dan krijgt u het verschil terug.',
    disputed: (date: string) => `Betwist op ${date}`,
    yourReason: 'Opgegeven reden',
    creditNote: (invoiceId: number) => `creditnota #${invoiceId}`,
    resolved: {
      upheld: (date: string, due: string) => `Gehandhaafd op ${date}; te betalen uiterlijk ${due}.`,
      adjusted: (date: string, before: string, after: string, due: string) =>
        `Aangepast op ${date} van ${before} naar ${after}; te betalen uiterlijk ${due}.`,
      waived: (date: string, before: string) =>
        `Kwijtgescholden op ${date}: u hoeft hiervoor niets te betalen (was ${before}).`,
      credited: (date: string, after: string, credit: string) =>
        `Besloten op ${date}: de regel bedraagt nu ${after}; u had hem al betaald, dus hebben we ${credit} op uw tegoed gezet.`,
      refunded: (date: string, after: string, amount: string) =>
        `Besloten op ${date}: de regel bedraagt nu ${after}; u had hem al betaald, dus betalen we u ${amount} terug.`,
      upheldPaid: (date: string) => `Gehandhaafd op ${date}; u had hem al betaald, dus er verandert niets.`,
      withdrawn: (date: string, due: string) =>
        `U hebt het bezwaar ingetrokken op ${date}; te betalen uiterlijk ${due}.`,
      voided: (date: string, invoice: number, refunded: boolean) =>
        `Afgesloten op ${date}: factuur #${invoice} is ${refunded ? 'aan u terugbetaald' : 'geannuleerd'}, dus u bent voor deze regel niets verschuldigd.`,
    },
    credit: {
      given: (amount: string) => `${amount} op uw tegoed gezet`,
      usedOn: (amount: string) => `${amount} gebruikt voor`,
      takenBack: (amount: string) => `${amount} van uw tegoed afgehaald`,
      left: (amount: string) => `nog ${amount} over`,
    },
    withdraw: 'Bezwaar intrekken',
    flashOpened: 'Uw bezwaar is ontvangen. De regel is opgeschort zolang we ernaar kijken.',
    flashOpenedPaid:
      'Uw bezwaar is ontvangen. U had deze regel al betaald: wordt hij verlaagd of kwijtgescholden, dan krijgt u het verschil terug.',
    flashWithdrawn: 'Uw bezwaar is ingetrokken.',
    rateLimited: 'Er zijn te veel bezwaren verstuurd vanuit uw account; probeer het later opnieuw.',
    alreadyDisputed: 'Tegen deze regel is al bezwaar gemaakt.',
    notDisputable: 'Tegen deze regel kan geen bezwaar meer worden gemaakt.',
    notFound: 'Die regel of dat bezwaar bestaat niet.',
    disputesOff: 'Bezwaar maken kan hier op dit moment niet; neem contact met ons op.',
    badRequest: 'Het formulier kon niet worden gelezen; probeer het opnieuw.',
    busy: 'We behandelen dit bezwaar op dit moment; probeer het zo meteen opnieuw.',
    noticeSent: (pct: number, date: string) =>
      `Op ${date} hebben we u laten weten dat het verkeer van deze periode ${pct}\u00a0% van de bundel had bereikt.`,
    limitThrottled: 'De bundel is op: de snelheid van deze VPS is beperkt tot de volgende periode begint.',
    limitSuspended: 'De bundel is op: deze VPS is opgeschort tot de volgende periode begint.',
    policyThrottle: 'Als de bundel op is, wordt de snelheid van deze VPS beperkt tot de volgende periode.',
    policySuspend: 'Als de bundel op is, wordt deze VPS opgeschort tot de volgende periode.',
    homeUsage: (used: string, allowance: string) => `${used} van ${allowance}`,
    homeDetails: 'Dagcijfers en facturen',
    homeOpenDisputes: (n: number) => `${n} ${plural(n, 'regel', 'regels')} in betwisting`,
    homeDisputable: (n: number) =>
      `tegen ${n} ${plural(n, 'regel', 'regels')} kan nog bezwaar worden gemaakt`,
    details: 'Details',
    counter: {
      unreadable: 'Een opmerking over deze periode kan nu niet getoond worden.',
      resetMissed: (date: string) =>
        `SolusVM heeft de teller op ${date} niet teruggezet. We tellen verder vanaf de stand van dat moment, dus geen verkeer wordt dubbel geteld, en deze periode eindigt nog altijd op de gewone dag.`,
      resetMissedCame: (date: string) =>
        `SolusVM heeft de teller op ${date} niet teruggezet; dat gebeurde later. Geen verkeer is dubbel geteld.`,
      resetMissedDropped: (date: string, on: string) =>
        `SolusVM heeft de teller op ${date} niet teruggezet. Op ${on} ging de teller omlaag: die reset of een correctie op de server, wat wij nakijken voordat er iets voor wordt gefactureerd. Geen verkeer wordt dubbel geteld.`,
      resetLate: (due: string, days: number, seen: string) =>
        `De terugzetting van de teller, verwacht op ${due}, kwam ${days} ${plural(days, 'dag', 'dagen')} te laat (gezien op ${seen}). Uw periodes zijn niet verschoven.`,
      dropOpen: (date: string, from: string, to: string) =>
        `De teller ging op ${date} omlaag (van ${from} naar ${to}): een handmatige terugzetting of een correctie op de server. Tot we hebben nagekeken welke, wordt de ${to} van die dag niet gefactureerd.`,
      dropReset: (date: string, since: string) =>
        `De teller is op ${date} teruggezet; het verkeer tussen ${since} en de terugzetting is niet gemeten en wordt niet gefactureerd.`,
      dropCorrection: (date: string) =>
        `De teller is op ${date} gecorrigeerd; voor de daling is niets gefactureerd.`,
      unmeasured: (from: string, to: string) =>
        `Het verkeer van ${from} tot en met ${to} is niet gemeten (er was geen meting vóór de terugzetting) en wordt niet gefactureerd.`,
      longGap: (days: number, to: string) =>
        `Geen meting gedurende ${days} ${plural(days, 'dag', 'dagen')} tot ${to}: de dagcijfers van die dagen zijn schattingen; het totaal is exact.`,
      at: (time: string, date: string) => `${time} op ${date}`,
    },
  },
} satisfies Record<TextLanguage, unknown>;

export type WidgetWords = (typeof WIDGET_WORDS)['en'];

export const wordsFor = (lang: TextLanguage): WidgetWords => WIDGET_WORDS[lang] as WidgetWords;
