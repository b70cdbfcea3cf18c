/**
 * Example: a frontend's user flows through the generated, typed operations.
 *   GATEHOUSE_URL=http://localhost:4000 npm run client:run
 */
import { createClient } from "./client.js";
import { ChangePasswordDocument, LoginDocument, MeDocument, RefreshDocument, RegisterDocument } from "./gql/graphql.js";

const baseUrl = process.argv[2] ?? "http://localhost:4000";
const client = createClient(baseUrl);
const email = `client.${Date.now()}@example.com`;
const password = "correct horse battery staple";
const newPassword = "Lighthouse-Marmalade-Quartz-91";

function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`example client: ${what}`);
}

const { register } = await client.request(RegisterDocument, { input: { email, password, fullName: "Example Client" } });
check(register.email === email && register.role === "USER", "register returned the new USER");

const { login } = await client.request(LoginDocument, { input: { email, password } });
// A client that does not ask for the cookie transport (X-Auth-Transport: cookie) gets the refresh token in the body.
check(login.refreshToken, "login returned a refresh token");
client.setAccessToken(login.accessToken);
const { me } = await client.request(MeDocument);
check(me.id === register.id && me.stats.loginCount === 1, "me is the registered user after one login");

const { refreshToken: refreshed } = await client.request(RefreshDocument, { refreshToken: login.refreshToken });
check(refreshed.refreshToken !== login.refreshToken, "refresh rotated the refresh token");
client.setAccessToken(refreshed.accessToken);

const { changePassword } = await client.request(ChangePasswordDocument, { input: { currentPassword: password, newPassword } });
client.setAccessToken(changePassword.accessToken);
const after = await client.request(MeDocument);
check(after.me.stats.passwordChangedAt !== null && after.me.stats.activeSessions === 1, "password changed, one session left");

console.log(`example client: register, login, me, refresh and changePassword all worked against ${baseUrl}`);
