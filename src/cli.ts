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

const USAGE = `Usage:
  npm run cli -- migrate
      Apply pending database migrations (the server also does this at start-up).
  npm run cli -- create-admin --email E --name N
      Create an admin. The password comes from ADMIN_PASSWORD or an interactive prompt, never argv.
  npm run cli -- create-admin --email E --promote
      Make the existing account with that email an active admin.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "help" || command === "--help") {
    console.log(USAGE);
    return command ? 0 : 1;
  }
  if (command !== "migrate" && command !== "create-admin") {
    console.error(`Unknown command "${command}".\n${USAGE}`);
    return 1;
  }

  const { values } = parseArgs({
    args: rest,
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
