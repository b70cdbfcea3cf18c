/*
 * The TLS directives of examples/deploy/nginx.conf are commented out (the main test runs plain http), so
 * nothing else would notice if they stopped being valid. Here they are enabled as the file's comments
 * tell an operator to (the TLS lines uncommented in place of `listen 80`, the redirect server at the end
 * uncommented), with a throwaway self-signed certificate, and nginx serves them: https with HSTS, http
 * redirected. No instance runs, so nginx's own "unavailable" answer comes back. Needs nginx and openssl.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { get as httpsGet } from "node:https";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backend } from "./support/database.js";
import { SHIPPED_SITE, findExecutable, freePort, nginxPrefix, nginxTest, startNginx, type NginxPrefix, type RunningNginx } from "./support/nginx.js";

const nginxBin = findExecutable("nginx");
const openssl = findExecutable("openssl");
const skipReason = !nginxBin ? "nginx is not installed (.ci/run installs it)" : !openssl ? "openssl is not installed" : undefined;

/** The site with its TLS server enabled, as its comments describe. */
function withTls(site: string): { text: string; enabled: number } {
  let enabled = 0;
  const lines = site.split("\n");
  const redirect = lines.findIndex((l) => l.startsWith("# With TLS above"));
  const out: string[] = [];
  lines.forEach((line, i) => {
    if (line === "    listen 80;") return;
    const inServer = /^ {4}# (listen (\[::\]:)?443 |ssl_|add_header )/.test(line);
    const inRedirect = redirect >= 0 && i > redirect && line.startsWith("# ");
    if (inServer || inRedirect) enabled += 1;
    out.push(inServer ? line.replace("    # ", "    ") : inRedirect ? line.slice(2) : line);
  });
  return { text: out.join("\n"), enabled };
}

// One backend is enough: no database is involved.
describe.skipIf(skipReason !== undefined || backend !== "pglite")(`nginx.conf with TLS enabled${skipReason ? ` (skipped: ${skipReason})` : ""}`, () => {
  let prefix: NginxPrefix;
  let nginx: RunningNginx | undefined;
  let https = 0;
  let http = 0;
  let cert = "";

  beforeAll(async () => {
    [https, http] = await Promise.all([freePort(), freePort()]);
    const { text, enabled } = withTls(readFileSync(SHIPPED_SITE, "utf8"));
    // listen 443 twice, 7 ssl_* lines, HSTS, and the 6 lines of the redirect server.
    expect(enabled).toBe(16);
    prefix = nginxPrefix(
      (dir) => [
        ["    listen 443 ssl http2;", `    listen 127.0.0.1:${https} ssl http2;`],
        ["    listen [::]:443 ssl http2;\n", ""],
        ["/etc/letsencrypt/live/api.example.com/fullchain.pem", join(dir, "cert.pem")],
        ["/etc/letsencrypt/live/api.example.com/privkey.pem", join(dir, "key.pem")],
        ["    listen 80;\n    listen [::]:80;", `    listen 127.0.0.1:${http};`],
        ["/var/log/nginx/gatehouse.access.log", join(dir, "access.log")],
      ],
      text,
    );
    execFileSync(
      openssl!,
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=api.example.com", "-addext", "subjectAltName=DNS:api.example.com"]
        .concat(["-keyout", join(prefix.dir, "key.pem"), "-out", join(prefix.dir, "cert.pem")]),
      { stdio: "pipe" },
    );
    cert = readFileSync(join(prefix.dir, "cert.pem"), "utf8");
  }, 60_000);
  afterAll(async () => {
    await nginx?.stop();
    prefix?.remove();
  });

  it("passes nginx -t, serves https with HSTS and redirects http", async () => {
    const check = nginxTest(nginxBin!, prefix);
    expect(check, check.output).toMatchObject({ status: 0 });
    nginx = await startNginx(nginxBin!, prefix, https);

    const secure = await new Promise<{ status?: number; hsts?: string; body: string }>((resolve, reject) => {
      const options = { host: "127.0.0.1", port: https, path: "/healthz", servername: "api.example.com", ca: cert, headers: { host: "api.example.com" } };
      const req = httpsGet(options, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode, hsts: res.headers["strict-transport-security"] as string | undefined, body }));
      });
      req.on("error", reject);
    });
    // No instance behind it: nginx's own answer, in the app's error shape.
    expect(secure.status).toBe(503);
    expect(JSON.parse(secure.body).errors[0].extensions.code).toBe("SERVICE_UNAVAILABLE");
    expect(secure.hsts).toBe("max-age=63072000");

    const plain = await new Promise<{ status?: number; location?: string }>((resolve, reject) => {
      const req = httpGet({ host: "127.0.0.1", port: http, path: "/graphql?x=1", headers: { host: "api.example.com" } }, (res) => {
        res.resume();
        resolve({ status: res.statusCode, location: res.headers.location });
      });
      req.on("error", reject);
    });
    expect(plain).toEqual({ status: 301, location: "https://api.example.com/graphql?x=1" });
  });
});
