<?php

declare(strict_types=1);

namespace WHMCS\Module\Addon\Overusage;

/**
 * One conversation with the service: send what WHMCS handed over (signed), apply the panel
 * commands the service hands back through localAPI() (relay mode), report their results, and
 * repeat until the service is done. A write is claimed in the outbox before it runs, so a command
 * key handed out twice is applied once.
 */
final class Relay
{
    /** API commands the bridge runs for the service; anything else is refused */
    private const ALLOWED = [
        'GetInvoice', 'GetInvoices', 'CreateInvoice', 'UpdateInvoice', 'AddInvoicePayment', 'ApplyCredit', 'AddCredit',
        'GetClientsDetails', 'GetClientsProducts', 'UpdateClientProduct', 'ModuleSuspend', 'ModuleUnsuspend',
        'SendEmail', 'SendAdminEmail', 'LogActivity', 'GenInvoices', 'GetConfigurationValue', 'GetProducts',
        'GetEmails', 'GetActivityLog', 'GetCredits', 'GetTransactions',
    ];

    /** commands that only read: safe to run again, so not kept in the outbox */
    private const READS = [
        'getinvoice', 'getinvoices', 'getclientsdetails', 'getclientsproducts', 'getconfigurationvalue', 'getactivitylog',
        'getemails', 'getproducts', 'getcredits', 'gettransactions',
    ];

    private const MAX_ROUNDS = 2000;

    public function __construct(
        public readonly Settings $settings,
        private readonly HttpClient $http,
        private readonly Store $store,
    ) {
    }

    /**
     * One request and the relay steps that follow it, until the service is done.
     *
     * @param array<string, mixed> $payload
     * @param list<string> $secrets values of the payload kept out of the module log
     * @param bool $oneExchange the service answers this request in one go, however long it takes (deactivation): the whole time is its
     * @throws BridgeFailure
     */
    public function converse(string $endpoint, array $payload, int $seconds, array $secrets = [], bool $oneExchange = false): mixed
    {
        $deadline = microtime(true) + $seconds;
        $answer = $this->http->post($endpoint, $payload, $oneExchange ? $seconds : $this->timeoutBefore($deadline), $secrets);
        for ($round = 0; ; $round++) {
            $status = $answer['status'] ?? null;
            if ($status === 'done') {
                return $answer['answer'] ?? null;
            }
            if ($status === 'failed') {
                throw new BridgeFailure('the service could not finish: ' . substr((string) ($answer['message'] ?? 'no reason given'), 0, 300));
            }
            if ($status !== 'commands' && $status !== 'working') {
                throw new BridgeFailure('the service answered something the bridge does not understand');
            }
            if ($round >= self::MAX_ROUNDS || microtime(true) >= $deadline) {
                throw new BridgeFailure("the service did not finish within {$seconds} seconds");
            }
            $conversation = (string) ($answer['conversation'] ?? '');
            $results = $status === 'commands' ? $this->applyAll(is_array($answer['commands'] ?? null) ? $answer['commands'] : []) : [];
            // the rest of the conversation carries the same secrets (a page with WHMCS's form token in it)
            $answer = $this->http->post('results', ['conversation' => $conversation, 'results' => $results], $this->timeoutBefore($deadline), $secrets);
            // a signed answer means the service has recorded the results
            $this->store->markReported(array_values(array_filter(array_map(static fn (array $r): string => (string) $r['key'], $results), static fn (string $k): bool => !str_starts_with($k, 'r-'))));
        }
    }

    /** On a cron run: report results still in the outbox, then re-deliver the hooks the service missed. */
    public function catchUp(): void
    {
        $outbox = $this->store->outbox(500);
        if ($outbox !== []) {
            $results = [];
            foreach ($outbox as $key => $entry) {
                $results[] = $entry['state'] === 'done' && is_array($entry['result'])
                    ? ['key' => $key, 'status' => 'ok', 'result' => $entry['result']]
                    : ['key' => $key, 'status' => 'unknown', 'message' => $entry['message'] ?? 'the bridge was interrupted while applying it'];
            }
            $answer = $this->converse('report', ['results' => $results], $this->settings->timeout);
            $accepted = is_array($answer) && is_array($answer['accepted'] ?? null) ? array_map('strval', $answer['accepted']) : [];
            $this->store->markReported(array_values(array_intersect($accepted, array_map('strval', array_keys($outbox)))));
        }
        $this->store->pruneReported(86400);
        $replayed = 0;
        foreach ($this->store->missed(50) as $id => $m) {
            if (in_array($m['hook'], Hooks::REPLAYED, true)) {
                $this->converse('hook', ['hook' => $m['hook'], 'vars' => $m['vars'], 'replay' => ['firedAt' => $m['firedAt']]], $this->settings->timeout * 3);
                $replayed++;
            }
            $this->store->deleteMissed([$id]);
        }
        if ($replayed > 0) {
            ActivityLog::log("Overusage: the service is reachable again; {$replayed} missed hook call(s) were delivered (overusage lines are added to the invoices concerned).");
        }
    }

    private function timeoutBefore(float $deadline): int
    {
        return max(1, min($this->settings->timeout, (int) ceil($deadline - microtime(true))));
    }

    /**
     * @param array<mixed> $commands
     * @return list<array<string, mixed>>
     */
    private function applyAll(array $commands): array
    {
        $results = [];
        foreach ($commands as $c) {
            if (!is_array($c) || !is_string($c['key'] ?? null) || preg_match('/^[a-z]-[A-Za-z0-9-]{1,76}$/', $c['key']) !== 1) {
                continue;
            }
            $results[] = $this->apply($c['key'], (string) ($c['command'] ?? ''), is_array($c['params'] ?? null) ? $c['params'] : []);
        }
        return $results;
    }

    /**
     * Applies one command through localAPI, once per key: a write is claimed before it runs and
     * its result kept until the service acknowledges it.
     *
     * @param array<mixed> $params
     * @return array<string, mixed>
     */
    private function apply(string $key, string $command, array $params): array
    {
        if (!in_array($command, self::ALLOWED, true)) {
            return ['key' => $key, 'status' => 'refused', 'message' => "the bridge does not run {$command}"];
        }
        $write = !in_array(strtolower($command), self::READS, true);
        if ($write && !$this->store->claim($key, $command)) {
            // already applied under this key (or being applied): never twice
            $prior = $this->store->outboxEntry($key);
            return $prior !== null && in_array($prior['state'], ['done', 'reported'], true) && is_array($prior['result'])
                ? ['key' => $key, 'status' => 'ok', 'result' => $prior['result']]
                : ['key' => $key, 'status' => 'unknown', 'message' => 'an earlier attempt was interrupted'];
        }
        try {
            $result = localAPI($command, $params);
        } catch (\Throwable $e) {
            $message = 'localAPI failed: ' . $e->getMessage();
            if ($write) {
                $this->store->settle($key, 'unknown', null, $message);
            }
            return ['key' => $key, 'status' => 'unknown', 'message' => $message];
        }
        $result = PlainData::of(is_array($result) ? $result : ['result' => 'error', 'message' => 'localAPI gave no answer']);
        $result = is_array($result) ? $result : [];
        if ($write) {
            $this->store->settle($key, 'done', $result);
        }
        return ['key' => $key, 'status' => 'ok', 'result' => $result];
    }
}
