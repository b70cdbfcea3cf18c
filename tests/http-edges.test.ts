/*
 * The HTTP layer's answers at its edges (src/server/app.ts, http.ts, graphql-route.ts): methods,
 * paths, body encodings and limits, CORS preflights, as Express and body-parser answered them before
 * the server moved to node:http. Raw sockets where fetch would normalise what is sent.
 */
import { connect } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_ENCRYPTION_SECRET, startTestServer, type TestServer } from "./support/server.js";

const production = { NODE_ENV: "production", MAIL_TRANSPORT: "log", RATE_LIMITS: "on", ENCRYPTION_SECRET: TEST_ENCRYPTION_SECRET, CORS_ORIGINS: "https://app.example.com" };
const TYPENAME = JSON.stringify({ query: "{ __typename }" });

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends `head` (CRLF line ends added) and `body` on one connection and reads the one answer. */
function raw(url: string, head: string, body?: Buffer | string): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", reject);
    socket.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const split = text.indexOf("\r\n\r\n");
      const [statusLine, ...lines] = text.slice(0, split).split("\r\n");
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
      resolve({ status: Number(statusLine!.split(" ")[1]), headers, body: text.slice(split + 4) });
    });
    socket.write(`${head.trim().replace(/\n/g, "\r\n")}\r\nConnection: close\r\n\r\n`);
    if (body !== undefined) socket.write(body);
  });
}

type ErrorBody = { errors: Array<{ extensions: { code: string } }> };
const code = (answer: RawAnswer | { body: string }) => (JSON.parse(answer.body) as ErrorBody).errors[0]!.extensions.code;

describe("the HTTP layer's edges", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ env: production });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("answers HEAD on the GET routes with the headers only, and HEAD /graphql as Apollo does (405, Allow)", async () => {
    const health = await raw(t.url, "HEAD /healthz HTTP/1.1\nHost: api.test");
    expect(health.status).toBe(200);
    expect(health.headers["content-length"]).toBe(String(JSON.stringify({ status: "ok" }).length));
    expect(health.body).toBe("");
    const graphql = await raw(t.url, "HEAD /graphql?query=%7B__typename%7D HTTP/1.1\nHost: api.test\nApollo-Require-Preflight: 1");
    expect(graphql.status).toBe(405);
    expect(graphql.headers["allow"]).toBe("GET, POST");
    expect(graphql.headers["cache-control"]).toBe("no-store");
    expect(graphql.body).toBe("");
  });

  it("answers another method on /graphql 405 in GraphQL's shape, and on any other route 404", async () => {
    const put = await fetch(`${t.url}/graphql`, { method: "PUT", headers: { "content-type": "application/json" }, body: TYPENAME });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("GET, POST");
    expect(code({ body: await put.text() })).toBe("BAD_REQUEST");
    for (const [method, path] of [
      ["POST", "/healthz"],
      ["PATCH", "/healthz"],
      ["OPTIONS", "/healthz"],
      ["GET", "/"],
      ["GET", "/graphqlx"],
      ["GET", "/%68ealthz"],
    ] as const) {
      const res = await fetch(`${t.url}${path}`, { method });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(await res.json()).toEqual({ error: "not found" });
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("matches paths as Express did: any case, one trailing slash, a query string, an absolute-form target", async () => {
    for (const path of ["/healthz/", "/HealthZ", "/healthz?probe=1"]) expect((await fetch(`${t.url}${path}`)).status, path).toBe(200);
    const absolute = await raw(t.url, "GET http://api.test/healthz HTTP/1.1\nHost: api.test");
    expect(absolute.status).toBe(200);
    for (const path of ["/graphql/", "/GraphQL", "/graphql?x=1"]) {
      const res = await fetch(`${t.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: TYPENAME });
      expect(await res.json(), path).toEqual({ data: { __typename: "Query" } });
    }
  });

  it("answers an allowed origin's preflight 204 with the CORS headers, and leaves another origin's to Apollo", async () => {
    const allowed = await fetch(`${t.url}/graphql`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example.com", "access-control-request-method": "POST" },
    });
    expect(allowed.status).toBe(204);
    expect(Object.fromEntries([...allowed.headers].filter(([k]) => k.startsWith("access-control-") || k === "vary" || k === "content-length"))).toEqual({
      "access-control-allow-origin": "https://app.example.com",
      "access-control-allow-credentials": "true",
      "access-control-allow-methods": "GET,POST,OPTIONS",
      "access-control-allow-headers": "Content-Type,Authorization,Apollo-Require-Preflight,X-Apollo-Operation-Name,X-Request-Id,X-Auth-Transport",
      "access-control-expose-headers": "X-Request-Id",
      "access-control-max-age": "600",
      "content-length": "0",
      vary: "Origin",
    });
    const refused = await fetch(`${t.url}/graphql`, {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    expect(refused.status).toBe(400);
    expect([...refused.headers.keys()].filter((k) => k.startsWith("access-control-") || k === "vary")).toEqual([]);
  });

  it("runs a GET query from the query string, whatever body the GET carries", async () => {
    const get = "GET /graphql?query=%7B__typename%7D HTTP/1.1\nHost: api.test\nApollo-Require-Preflight: 1\nContent-Type: application/json";
    const res = await raw(t.url, `${get}\nContent-Length: 22`, JSON.stringify({ query: "{ me { id } }" }).slice(0, 22));
    expect(res.status).toBe(400); // a body that is not JSON is refused before GraphQL, as body-parser did
    const other = JSON.stringify({ query: "{ me { id } }" });
    const fine = await raw(t.url, `${get}\nContent-Length: ${other.length}`, other);
    expect(JSON.parse(fine.body)).toEqual({ data: { __typename: "Query" } });
  });

  it("reads only application/json bodies: another type reaches Apollo without a body, and CSRF rules still apply", async () => {
    const plain = await fetch(`${t.url}/graphql`, { method: "POST", headers: { "content-type": "text/plain" }, body: TYPENAME });
    expect(plain.status).toBe(400);
    expect(await plain.text()).toMatch(/Cross-Site Request Forgery/);
    const preflighted = await fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "text/plain", "apollo-require-preflight": "1" },
      body: TYPENAME,
    });
    expect(preflighted.status).toBe(400);
    expect(await preflighted.text()).toMatch(/POST body missing, invalid Content-Type/);
    const upper = await fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "Application/JSON; charset=UTF-8" },
      body: TYPENAME,
    });
    expect(await upper.json()).toEqual({ data: { __typename: "Query" } });
    const empty = await fetch(`${t.url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: "" });
    expect(empty.status).toBe(400);
    const scalar = await fetch(`${t.url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: '"{ __typename }"' });
    expect(scalar.status).toBe(400);
    expect(code({ body: await scalar.text() })).toBe("BAD_REQUEST");
  });

  it("takes a chunked or gzip body, and refuses one over 100kb (counted after inflating), an unknown encoding and a non-UTF charset", async () => {
    const post = (headers: string, body: Buffer | string) =>
      raw(t.url, `POST /graphql HTTP/1.1\nHost: api.test\nContent-Type: application/json\n${headers}`, body);
    const chunk = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
    const chunked = await post("Transfer-Encoding: chunked", `${chunk(TYPENAME.slice(0, 5))}${chunk(TYPENAME.slice(5))}0\r\n\r\n`);
    expect(JSON.parse(chunked.body)).toEqual({ data: { __typename: "Query" } });
    const zipped = gzipSync(TYPENAME);
    const gzip = await post(`Content-Encoding: gzip\nContent-Length: ${zipped.length}`, zipped);
    expect(JSON.parse(gzip.body)).toEqual({ data: { __typename: "Query" } });

    const big = JSON.stringify({ query: `{ __typename } # ${"x".repeat(110 * 1024)}` });
    const chunkedBig = await post("Transfer-Encoding: chunked", `${chunk(big.slice(0, 50_000))}${chunk(big.slice(50_000))}0\r\n\r\n`);
    expect(chunkedBig.status).toBe(413);
    expect(code(chunkedBig)).toBe("BAD_REQUEST");
    const bomb = gzipSync(big);
    const inflated = await post(`Content-Encoding: gzip\nContent-Length: ${bomb.length}`, bomb);
    expect(inflated.status).toBe(413);
    expect(inflated.headers["x-content-type-options"]).toBe("nosniff");

    const unknown = await post(`Content-Encoding: compress\nContent-Length: ${TYPENAME.length}`, TYPENAME);
    expect(unknown.status).toBe(415);
    expect(code(unknown)).toBe("BAD_REQUEST");
    const latin1 = await raw(
      t.url,
      `POST /graphql HTTP/1.1\nHost: api.test\nContent-Type: application/json; charset=latin1\nContent-Length: ${TYPENAME.length}`,
      TYPENAME,
    );
    expect(latin1.status).toBe(415);
    expect(latin1.headers["cache-control"]).toBe("no-store");
  });
});
