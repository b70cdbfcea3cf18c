import { randomInt } from "node:crypto";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { checkPasswordPolicy } from "../src/auth/password.js";
import type * as PasswordModule from "../src/auth/password.js";
import { estimateStrength } from "../src/auth/password-strength.js";
import { REGISTER, expectBadInput, signUp } from "./support/flows.js";
import { OTHER_STRONG_PASSWORD, STRONG_PASSWORD, startTestServer, uniqueEmail, type GqlResponse, type TestServer } from "./support/server.js";

/* API.md §5: the password-strength check never stalls the server, and changePassword checks the current
 * password before it. The policy check is wrapped in a spy, to tell whether and while it runs. */

vi.mock("../src/auth/password.js", async (importOriginal) => {
  const original = await importOriginal<typeof PasswordModule>();
  return { ...original, checkPasswordPolicy: vi.fn(original.checkPasswordPolicy) };
});

const CHANGE_PASSWORD = `mutation ($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken } }`;

// Digits and symbols are what zxcvbn's l33t matcher spends its time on: the worst case for its cost.
const CHARSET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%&*()[]{}<>|/+=-_.";
const randomPassword = (length: number) => Array.from({ length }, () => CHARSET[randomInt(CHARSET.length)]).join("");

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
  // Warm up (JIT, the first queries), so that the measured requests show the steady state.
  await signUp(t);
});
afterAll(async () => {
  await t?.close();
});

interface DuringCheck {
  /** Turns of the event loop (setImmediate callbacks of a ticker) while the policy check ran. */
  turns: number;
  /** /healthz answers received while the policy check ran. */
  healthz: number;
}

/**
 * Runs `mutation` while /healthz is polled back to back and a ticker counts the event loop's turns, and
 * reports what happened while the policy check ran: a check that holds the loop leaves both at zero.
 * Also the figures for the report: the loop's longest stall (perf_hooks; the server runs in this process).
 */
async function underHealthChecks<T>(mutation: () => Promise<T>): Promise<{ result: T; during: DuringCheck[]; maxDelayMs: number; healthzMaxMs: number }> {
  const real = await vi.importActual<typeof PasswordModule>("../src/auth/password.js");
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  const latencies: number[] = [];
  let turns = 0;
  let done = false;
  const during: DuringCheck[] = [];
  vi.mocked(checkPasswordPolicy).mockImplementation(async (...args) => {
    const before = { turns, healthz: latencies.length };
    const problem = await real.checkPasswordPolicy(...args);
    during.push({ turns: turns - before.turns, healthz: latencies.length - before.healthz });
    return problem;
  });
  const tick = () => {
    turns += 1;
    if (!done) setImmediate(tick);
  };
  const poll = (async () => {
    while (!done) {
      const started = performance.now();
      await (await fetch(`${t.url}/healthz`)).arrayBuffer();
      latencies.push(performance.now() - started);
    }
  })();
  try {
    histogram.enable();
    setImmediate(tick);
    const result = await mutation();
    return { result, during, maxDelayMs: histogram.max / 1e6, healthzMaxMs: Math.max(...latencies) };
  } finally {
    done = true;
    histogram.disable();
    await poll;
    vi.mocked(checkPasswordPolicy).mockImplementation(real.checkPasswordPolicy);
  }
}

describe("the strength check never stalls the server (API.md §5)", () => {
  // Not a benchmark (timings on this shared machine vary 10x): the unbounded estimator ran in one
  // synchronous stretch, so no turn of the loop and no /healthz answer could happen during it. The
  // bounded one yields between parts: a random 128-character password has more than ten.
  it("register with a random 128-character password: the event loop turns and /healthz answers while the check runs", async () => {
    const { result, during, maxDelayMs, healthzMaxMs } = await underHealthChecks(() =>
      t.gql<{ register: { id: string } }>(REGISTER, { input: { email: uniqueEmail("long"), password: randomPassword(128), fullName: "Long Password" } }),
    );
    expect(result.body.errors).toBeUndefined();
    expect(during).toHaveLength(1);
    expect(during[0]!.turns).toBeGreaterThanOrEqual(10);
    expect(during[0]!.healthz).toBeGreaterThanOrEqual(1);
    console.info(`register, 128 characters: max event-loop delay ${maxDelayMs.toFixed(0)} ms, max /healthz ${healthzMaxMs.toFixed(0)} ms`);
  });

  it("changePassword with a random 128-character new password: the same", async () => {
    const user = await signUp(t);
    const { result, during, maxDelayMs, healthzMaxMs } = await underHealthChecks(() =>
      t.gql(CHANGE_PASSWORD, { input: { currentPassword: user.password, newPassword: randomPassword(128) } }, { token: user.accessToken }),
    );
    expect(result.body.errors).toBeUndefined();
    expect(during).toHaveLength(1);
    expect(during[0]!.turns).toBeGreaterThanOrEqual(10);
    expect(during[0]!.healthz).toBeGreaterThanOrEqual(1);
    console.info(`changePassword, 128 characters: max event-loop delay ${maxDelayMs.toFixed(0)} ms, max /healthz ${healthzMaxMs.toFixed(0)} ms`);
  });
});

describe("changePassword checks the current password first", () => {
  it("a wrong current password is BAD_USER_INPUT on currentPassword, and the policy (the estimator) never ran", async () => {
    const user = await signUp(t);
    const policy = vi.mocked(checkPasswordPolicy);
    policy.mockClear();
    // A weak new password: answering on newPassword would tell a token thief how the policy judges it.
    const weak: GqlResponse = await t.gql(
      CHANGE_PASSWORD,
      { input: { currentPassword: "not my password", newPassword: "password123" } },
      { token: user.accessToken },
    );
    expectBadInput(weak, "currentPassword");
    const long = await t.gql(CHANGE_PASSWORD, { input: { currentPassword: "not my password", newPassword: randomPassword(128) } }, { token: user.accessToken });
    expectBadInput(long, "currentPassword");
    expect(policy).not.toHaveBeenCalled();

    // With the right one, the policy answers as before.
    const res = await t.gql(CHANGE_PASSWORD, { input: { currentPassword: user.password, newPassword: "password123" } }, { token: user.accessToken });
    expectBadInput(res, "newPassword");
    expect(policy).toHaveBeenCalledTimes(1);
  });
});

describe("the bounded estimator keeps the policy's answers", () => {
  const context = { email: "someone.else@example.com", fullName: "Ada Lovelace" };

  it.each([
    STRONG_PASSWORD,
    OTHER_STRONG_PASSWORD,
    "Velvet-Compass-Thunder-Orchid-58",
    "Quixotic-Walrus-Harbour-2047",
    "Another-Unusual-Passphrase-77",
    "Vermilion-user.1-Gazebo-Thistle",
  ])(
    "accepts %s",
    async (password) => {
      expect(await checkPasswordPolicy(password, "password", context)).toBeNull();
    },
  );

  it.each([
    ["a common password", "password123"],
    ["a short one", "password"],
    ["one word twice and a digit", "passwordpassword1"],
    ["a repeated phrase", "trustno1trustno1trustno1"],
    ["a period of 5 over 125 characters (chunks cut at different offsets)", "abcde".repeat(25)],
    ["one character 128 times", "a".repeat(128)],
    ["the user's own name, twice", "ada lovelace ada lovelace"],
    ["the user's name around a year", "AdaLovelace1815AdaLovelace"],
  ])("refuses %s", async (_label, password) => {
    expect(await checkPasswordPolicy(password, "password", context)).toMatchObject({ field: "password", message: expect.stringMatching(/too weak/) });
  });

  it("accepts a random 128-character password and yields to the event loop between its parts", async () => {
    let turns = 0;
    let counting = true;
    const tick = () => {
      if (!counting) return;
      turns += 1;
      setImmediate(tick);
    };
    setImmediate(tick);
    expect((await estimateStrength(randomPassword(128), [])).score).toBe(4);
    counting = false;
    // At least one turn of the loop per part (128 / 12 characters).
    expect(turns).toBeGreaterThanOrEqual(10);
  });
});
