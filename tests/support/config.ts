import { ConfigError, loadConfig } from "../../src/config.js";

/** The problems of the ConfigError that loadConfig throws, or [] when it accepts the environment. */
export function configProblems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}
