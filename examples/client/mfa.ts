/**
 * Example: the second-factor flow a frontend runs, through the generated, typed operations; the codes
 * come from otplib, as an authenticator app would compute them.
 *   npm run client:run:mfa -- http://localhost:4000
 * It waits for the next 30-second TOTP step once (a step is accepted once per user), so it takes up to 30 s.
 */
import { generateSync } from "otplib";
import { createClient, GatehouseRequestError } from "./client.js";
import {
  ConfirmTotpSetupDocument,
  LoginMfaDocument,
  MyMfaDocument,
  MySessionIdsDocument,
  RegisterDocument,
  StartTotpSetupDocument,
  VerifyMfaDocument,
} from "./gql/graphql.js";

const baseUrl = process.argv[2] ?? "http://localhost:4000";
const client = createClient(baseUrl);
const email = `client.mfa.${Date.now()}@example.com`;
const password = "correct horse battery staple";

function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`example MFA client: ${what}`);
}

/** What the authenticator app shows now for `secret`. */
const authenticatorCode = (secret: string) => generateSync({ secret, epoch: Math.floor(Date.now() / 1000) });

/** Waits for the next TOTP step: the code of a step already used is refused. */
async function nextStep(): Promise<void> {
  const msLeft = 30_000 - (Date.now() % 30_000);
  await new Promise((resolve) => setTimeout(resolve, msLeft + 200));
}

/** Logs in with the password; for a TOTP account the tokens belong to a pending session. */
async function logIn() {
  client.setAccessToken(undefined);
  const { login } = await client.request(LoginMfaDocument, { input: { email, password } });
  client.setAccessToken(login.accessToken);
  return login;
}

// 1. A signed-in user turns TOTP on: the setup screen shows otpauthUri as a QR code (or the secret).
await client.request(RegisterDocument, { input: { email, password, fullName: "Example MFA Client" } });
check((await logIn()).mfaRequired === false, "without TOTP a login is complete");
const { startTotpSetup } = await client.request(StartTotpSetupDocument, { currentPassword: password });
check(startTotpSetup.otpauthUri.startsWith("otpauth://totp/"), "an otpauth:// URI to scan");
const { confirmTotpSetup: recoveryCodes } = await client.request(ConfirmTotpSetupDocument, { code: authenticatorCode(startTotpSetup.secret) });
check(recoveryCodes.length === 10, "10 recovery codes, to show once");

// 2. The next login: mfaRequired, so the frontend shows the code screen. Until verifyMfa, the session
//    may call only me, verifyMfa, logout and logoutAll.
const pending = await logIn();
check(pending.mfaRequired, "a TOTP account's login is pending");
try {
  await client.request(MySessionIdsDocument);
  check(false, "a pending session is refused mySessions");
} catch (err) {
  check(err instanceof GatehouseRequestError && err.errors[0]?.extensions["reason"] === "MFA_REQUIRED", "FORBIDDEN, reason MFA_REQUIRED");
}

// 3. The code screen submits verifyMfa: a fresh pair for the completed session replaces the pending one.
await nextStep();
const { verifyMfa } = await client.request(VerifyMfaDocument, { code: authenticatorCode(startTotpSetup.secret) });
check(!verifyMfa.mfaRequired, "verifyMfa completes the session");
client.setAccessToken(verifyMfa.accessToken);
const { mySessions } = await client.request(MySessionIdsDocument);
check(mySessions.some((s) => s.current), "the completed session reaches the rest of the API");

// 4. A user without the phone types a recovery code on the same screen; each works once.
await logIn();
const { verifyMfa: recovered } = await client.request(VerifyMfaDocument, { code: recoveryCodes[0]! });
client.setAccessToken(recovered.accessToken);
const { me } = await client.request(MyMfaDocument);
check(me.mfa.totpEnabled && me.mfa.recoveryCodesLeft === 9, "one recovery code spent");

console.log(`example MFA client: TOTP setup, pending login, verifyMfa with a TOTP and a recovery code all worked against ${baseUrl}`);
