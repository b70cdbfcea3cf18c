import "reflect-metadata";
import { parseArgs } from "node:util";
import { read } from "read";
import { ConfigError, loadConfig } from "./config.js";
import { AppError } from "./errors.js";
import { createLogger } from "./lib/logger.js";
import { safeError } from "./lib/safe-error.js";
import { lockDataDir } from "./server/data-dir-lock.js";
import { createDeps } from "./server/create-deps.js";
import { createAdmin, promoteToAdmin } from "./admin/create-admin.service.js";
import { revokeKey, rotateKeys } from "./auth/keys/rotation.service.js";
import { listSigningKeys } from "./auth/keys/signing-keys.repo.js";
import type { Deps } from "./deps.js";

const USAGE = `Usage:
  npm run cli -- migrate
      Apply pending database migrations (the server also does this at start-up).
  npm run cli -- create-admin --email E --name N
      Create an admin. The password comes from ADMIN_PASSWORD or an interactive prompt, never argv.
  npm run cli -- create-admin --email E --promote
      Make the existing account with that email an active admin.
  npm run cli -- rotate-keys
      Make a new ES256 signing key: published now, signing in 10 minutes (after every verifier's cached
      JWKS holds it); the current key stays published until the tokens it signed have expired.
  npm run cli -- revoke-key <kid>
      Revoke a (compromised) signing key: every instance refuses its tokens at once (with REDIS_URL;
      without Redis, within a minute). If it was the signing key, another one signs from now.
  npm run cli -- list-keys
      The signing keys and their schedule.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "help" || command === "--help") {
    console.log(USAGE);
    return command ? 0 : 1;
  }
  if (!["migrate", "create-admin", "rotate-keys", "revoke-key", "list-keys"].includes(command)) {
    console.error(`Unknown command "${command}".\n${USAGE}`);
    return 1;
  }

  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: command === "revoke-key",
    options: { email: { type: "string" }, name: { type: "string" }, promote: { type: "boolean", default: false }, password: { type: "string" } },
    strict: true,
  });
  if (values.password !== undefined) {
    console.error("Passwords are never taken from the command line (shell history, ps). Use ADMIN_PASSWORD or the prompt.");
    return 1;
  }

  const config = loadConfig(process.env, { persistDevSecret: true });
  const logger = createLogger({ ...config, logLevel: "warn" });
  const release = config.databaseUrl ? undefined : await lockDataDir(config.dataDir);
  const deps = await createDeps(config, logger);
  try {
    if (command === "migrate") {
      console.log(`Migrations are up to date (${deps.database.kind}).`);
      return 0;
    }
    if (command === "rotate-keys" || command === "revoke-key" || command === "list-keys") return await keysCommand(deps, command, positionals);
    if (!values.email || (!values.name && !values.promote)) {
      console.error(`create-admin needs --email and --name.\n${USAGE}`);
      return 1;
    }
    if (values.promote) {
      const promoted = await promoteToAdmin(deps, values.email);
      if (!promoted) {
        console.error("No account with that email to promote.");
        return 1;
      }
      console.log(`${promoted.email} (${promoted.id}) is now an active admin.`);
      return 0;
    }
    const password = adminPasswordFrom(process.env) ?? (await promptPassword());
    const result = await createAdmin(deps, { email: values.email, fullName: values.name ?? "", password }, "cli");
    if (result.status === "created") {
      console.log(`Created admin ${result.user.email} (${result.user.id}).`);
      return 0;
    }
    if (result.user.role === "ADMIN") {
      console.log(`${result.user.email} is already an admin.`);
      return 0;
    }
    console.error(`An account with email ${result.user.email} exists; add --promote to make it an admin.`);
    return 1;
  } finally {
    await deps.database.close();
    await release?.();
  }
}

/** rotate-keys, revoke-key, list-keys (API.md §9). */
async function keysCommand(deps: Deps, command: string, args: string[]): Promise<number> {
  if (deps.config.jwt.algorithm !== "ES256") {
    console.error("JWT_ALGORITHM is HS256: there are no signing keys to rotate (set JWT_ALGORITHM=ES256).");
    return 1;
  }
  if (command === "list-keys") {
    for (const k of await listSigningKeys(deps.db)) {
      const at = (d: Date | null) => d?.toISOString() ?? "-";
      const schedule = `signs from ${at(k.signsFrom)}  retired ${at(k.retiredAt)}  published until ${at(k.publishedUntil)}`;
      console.log(`${k.kid}  created ${at(k.createdAt)}  ${schedule}  revoked ${at(k.revokedAt)}`);
    }
    return 0;
  }
  if (command === "rotate-keys") {
    const rotation = await rotateKeys(deps, { force: true });
    if (!rotation) {
      console.error("Another instance is changing the signing keys right now; try again.");
      return 1;
    }
    await deps.keys.changed();
    console.log(`New signing key ${rotation.kid}: published now, signs from ${rotation.signsFrom.toISOString()}.`);
    return 0;
  }
  const [kid] = args;
  if (!kid || args.length !== 1) {
    console.error(`revoke-key needs the kid of one key (npm run cli -- list-keys shows them).\n${USAGE}`);
    return 1;
  }
  const result = await revokeKey(deps, kid);
  if (!result) {
    console.error(`No unrevoked signing key ${kid}.`);
    return 1;
  }
  await deps.keys.changed();
  console.log(`Revoked ${kid}; ${result.signer} signs from now.${deps.redis ? "" : " Without REDIS_URL, other instances refuse it within a minute."}`);
  return 0;
}

/**
 * create-admin's password: ADMIN_PASSWORD (a variable of this command only, so not in Config), else a
 * hidden prompt; never argv.
 */
function adminPasswordFrom(env: NodeJS.ProcessEnv): string | undefined {
  const value = env["ADMIN_PASSWORD"];
  return value === undefined || value === "" ? undefined : value;
}

async function promptPassword(): Promise<string> {
  if (!process.stdin.isTTY) throw new Error("No ADMIN_PASSWORD set and no terminal to prompt on");
  const first = await read({ prompt: "Password: ", silent: true, replace: "*" });
  const second = await read({ prompt: "Repeat password: ", silent: true, replace: "*" });
  if (first !== second) throw new Error("The passwords do not match");
  return first;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) console.error(err.message);
    else if (err instanceof AppError) {
      const fields = (err.extensions["fields"] as { field: string; message: string }[] | undefined) ?? [];
      console.error(fields.length ? fields.map((f) => `${f.field}: ${f.message}`).join("\n") : err.message);
    } else console.error(`Failed: ${String(safeError(err)["message"] ?? safeError(err)["sqlstate"] ?? "unknown error")}`);
    process.exit(1);
  },
);
