/**
 * Runs the example resource server against a running Gatehouse and shows it at work: a new USER logs in
 * at Gatehouse, then calls the resource server's USER route (200) and its ADMIN route (403).
 *   npm run example:resource-server -- http://localhost:4000
 */
import type { AddressInfo } from "node:net";
import { createResourceServer } from "./resource-server.js";

const gatehouseUrl = process.argv[2] ?? "http://localhost:4000";
const email = `resource.${Date.now()}@example.com`;
const password = "correct horse battery staple";

async function gql(query: string, variables: object): Promise<Record<string, Record<string, unknown>>> {
  const res = await fetch(`${gatehouseUrl}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: Record<string, Record<string, unknown>>; errors?: unknown[] };
  if (!body.data || body.errors) throw new Error(`Gatehouse answered ${JSON.stringify(body.errors)}`);
  return body.data;
}

await gql("mutation($input: RegisterInput!) { register(input: $input) { id } }", { input: { email, password, fullName: "Resource Demo" } });
const { login } = await gql("mutation($input: LoginInput!) { login(input: $input) { accessToken } }", { input: { email, password } });

const server = createResourceServer({ gatehouseUrl });
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const results: Record<string, number> = {};
try {
  for (const route of ["/user", "/admin"]) {
    const res = await fetch(`${base}${route}`, { headers: { authorization: `Bearer ${String(login!["accessToken"])}` } });
    results[route] = res.status;
    console.log(`resource server: GET ${route} as a USER -> ${res.status} ${await res.text()}`);
  }
  const anonymous = await fetch(`${base}/user`);
  console.log(`resource server: GET /user without a token -> ${anonymous.status}`);
  if (results["/user"] !== 200 || results["/admin"] !== 403 || anonymous.status !== 401) throw new Error("unexpected statuses");
} finally {
  server.close();
}
