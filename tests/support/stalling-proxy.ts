import { connect, createServer, type AddressInfo, type Socket } from "node:net";

/**
 * A TCP proxy that can go silent without closing anything: after stall() it accepts connections and
 * keeps the open ones, but forwards no byte either way. A dependency that hangs (a frozen server, a
 * partition that drops packets) looks like this to the client, unlike tcp-proxy.ts's stop(), which
 * refuses and resets.
 */
export interface StallingProxy {
  readonly port: number;
  stall(): void;
  close(): Promise<void>;
}

export async function startStallingProxy(targetHost: string, targetPort: number): Promise<StallingProxy> {
  const sockets = new Set<Socket>();
  let stalled = false;
  const server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    const forward = (from: Socket, to: Socket) => {
      from.on("data", (chunk) => {
        if (!stalled) to.write(chunk);
      });
      from.on("end", () => {
        if (!stalled) to.end();
      });
    };
    forward(client, upstream);
    forward(upstream, client);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    stall() {
      stalled = true;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
