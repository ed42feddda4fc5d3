/**
 * A JSON-RPC proxy in front of a node that injects faults into chosen requests: an HTTP 429 (with Retry-After), a
 * request held past the client's time-out, a dropped connection, an answer of its own, or a hook that runs before the request is
 * forwarded or before its answer is returned (to kill the node, reorganise the chain...). For the keeper's fault
 * tests: the keeper talks to the proxy, the test to the node directly.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

/** What the proxy does with one request. */
export type Fault =
  | { readonly kind: "429"; readonly retryAfterSeconds?: number }
  | { readonly kind: "hold"; readonly ms: number }
  | { readonly kind: "drop" }
  /** Answered by the proxy with `body`, never forwarded (a node that acknowledged what it then lost). */
  | { readonly kind: "answer"; readonly body: string }
  | { readonly kind: "forward" };

/** One request the proxy received, as `decide` and `afterAnswer` see it. */
export interface ProxiedRequest {
  /** From 1, counting every request since the proxy started. */
  readonly n: number;
  /** Milliseconds since the proxy started. */
  readonly at: number;
  /** JSON-RPC methods in the request (a batch has several). */
  readonly methods: readonly string[];
  readonly body: string;
}

export interface FaultProxyOptions {
  /** The node's URL (read at each request: the node may move). */
  readonly target: () => string;
  /** The fault for a request (default: forward). */
  readonly decide?: (request: ProxiedRequest) => Fault | Promise<Fault>;
  /** Runs after the node answered and before the answer is returned; `"drop"` loses the answer. */
  readonly afterAnswer?: (request: ProxiedRequest, answer: string) => void | "drop" | Promise<void | "drop">;
}

export interface FaultProxy {
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: readonly ProxiedRequest[];
  /** Each injected fault: `"<kind> #<n> <methods>"`. */
  readonly injected: readonly string[];
  close(): Promise<void>;
}

function methodsOf(body: string): string[] {
  try {
    const parsed = JSON.parse(body) as { method?: string } | { method?: string }[];
    return (Array.isArray(parsed) ? parsed : [parsed]).map((call) => String(call.method));
  } catch {
    return [];
  }
}

/** Starts the proxy on a free 127.0.0.1 port. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const started = performance.now();
  const requests: ProxiedRequest[] = [];
  const injected: string[] = [];
  const held = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      void (async () => {
        const request: ProxiedRequest = { n: requests.length + 1, at: performance.now() - started, methods: methodsOf(body), body };
        requests.push(request);
        const fault = (await options.decide?.(request)) ?? { kind: "forward" };
        const label = `${fault.kind} #${request.n} ${request.methods.join(",")}`;
        if (fault.kind === "429") {
          injected.push(label);
          const headers: Record<string, string> = { "content-type": "text/plain" };
          if (fault.retryAfterSeconds !== undefined) headers["retry-after"] = String(fault.retryAfterSeconds);
          res.writeHead(429, "Too Many Requests", headers).end("rate limited");
          return;
        }
        if (fault.kind === "drop") {
          injected.push(label);
          req.socket.destroy();
          return;
        }
        if (fault.kind === "answer") {
          injected.push(label);
          res.setHeader("content-type", "application/json").end(fault.body);
          return;
        }
        if (fault.kind === "hold") {
          // Held past the client's time-out, then dropped: the client gave up on it meanwhile.
          injected.push(label);
          const timer = setTimeout(() => (held.delete(timer), req.socket.destroy()), fault.ms);
          held.add(timer);
          return;
        }
        let answer: string;
        try {
          const response = await fetch(options.target(), { method: "POST", headers: { "content-type": "application/json" }, body });
          answer = await response.text();
        } catch {
          req.socket.destroy(); // the node is down: the client sees a dropped connection
          return;
        }
        if ((await options.afterAnswer?.(request, answer)) === "drop") {
          injected.push(`lost answer #${request.n} ${request.methods.join(",")}`);
          req.socket.destroy();
          return;
        }
        if (!res.destroyed) res.setHeader("content-type", "application/json").end(answer);
      })().catch(() => req.socket.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    injected,
    async close() {
      for (const timer of held) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
