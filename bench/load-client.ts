/**
 * The load generator of the web benchmarks, in a process of its own so it never shares the
 * server's event loop: autocannon against one URL with N keep-alive connections for D seconds.
 * Argument: one JSON object {url, connections, duration, headers, warmup}. Prints one JSON line.
 */
import autocannon from 'autocannon';

const o = JSON.parse(process.argv[2] ?? '{}') as {
  url: string;
  connections: number;
  duration: number;
  headers?: Record<string, string>;
  warmup?: number;
};
const run = (duration: number) =>
  autocannon({ url: o.url, connections: o.connections, duration, headers: o.headers ?? {}, pipelining: 1 });
if (o.warmup) await run(o.warmup);
const r = await run(o.duration);
process.stdout.write(
  JSON.stringify({
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    max: r.latency.max,
    rps: r.requests.average,
    total: r.requests.total,
    bytesPerResponse: r.requests.total ? r.throughput.total / r.requests.total : 0,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  }) + '\n',
);
