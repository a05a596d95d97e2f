import fs from 'node:fs';
import net from 'node:net';

/**
 * A free port below the kernel's ephemeral range: every port-0 listener and every outgoing
 * connection takes its local port from that range, so a port picked here and left unbound for a
 * while (a private MariaDB restarted on it in collect-db-loss; a "dead" URL nothing listens on) is
 * not handed to another process meanwhile — with test files two at a time, the other worker's
 * servers and connections. Picked at random and tried, as two files may pick at once.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  for (let i = 0; i < 50; i++) {
    const port = 10_000 + Math.floor(Math.random() * (low - 10_000));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port between 10000 and ${low} on 127.0.0.1`);
}

/** The first port of the kernel's ephemeral range (Linux: 32768 unless set otherwise). */
function ephemeralLow(): number {
  try {
    const low = Number(
      fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
    );
    return low > 11_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}
