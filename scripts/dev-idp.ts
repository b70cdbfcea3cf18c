/*
 * A local OpenID provider for trying social login by hand (npm run dev:idp): oidc-provider with its
 * development login and consent pages on http://127.0.0.1:4779 (IDP_PORT). Any login name works and
 * signs in as <name>@example.com with a verified email; the password is not checked. Development only.
 */
import { startTestIdp } from "../tests/support/oidc-provider.js";

const port = Number(process.env["IDP_PORT"] ?? 4779);
const redirectUri = process.env["OAUTH_REDIRECT_URI"] ?? "http://localhost:3000/oauth/callback";
const idp = await startTestIdp({ port, redirectUri, anyLogin: true });
console.log(`OpenID provider on ${idp.issuer} (client gatehouse, redirect URI ${redirectUri}). Start Gatehouse with:\n`);
for (const [k, v] of Object.entries(idp.env())) console.log(`  export ${k}=${v}`);
console.log("\nCtrl-C stops it.");
const stop = () => void idp.close().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
