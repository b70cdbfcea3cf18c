import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

/** Case-insensitive text (the citext extension): one account per address whatever its case. */
const citext = customType<{ data: string }>({
  dataType: () => "citext",
});

const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

export const roleEnum = pgEnum("user_role", ["USER", "ADMIN"]);

export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    email: citext("email").notNull(),
    fullName: text("full_name").notNull(),
    /** Null for an account made by a social login (API.md §8): it gets one through the password reset flow. */
    passwordHash: text("password_hash"),
    role: roleEnum("role").notNull().default("USER"),
    isActive: boolean("is_active").notNull().default(true),
    emailVerified: boolean("email_verified").notNull().default(false),
    pendingEmail: citext("pending_email"),
    loginCount: integer("login_count").notNull().default(0),
    failedLoginsSinceLastLogin: integer("failed_logins_since_last_login").notNull().default(0),
    lastLoginAt: timestamptz("last_login_at"),
    passwordChangedAt: timestamptz("password_changed_at"),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    updatedAt: timestamptz("updated_at").notNull().defaultNow(),
    deletedAt: timestamptz("deleted_at"),
  },
  (t) => [
    // The database, not a check in a resolver, keeps one account per address (citext: case-insensitive).
    uniqueIndex("users_email_key").on(t.email),
    // Small partial index for the "at least one active admin" checks. Its predicate names only role:
    // a column in any index (predicates included) makes every update of it a non-HOT update that
    // adds entries to every index, and activation and deletion are what bulkUsers does 1000 at a time.
    index("users_admins_idx").on(t.id).where(sql`${t.role} = 'ADMIN'`),
  ],
);

/**
 * The LAST_LOGIN_AT sort order of users, one row per user, kept by triggers on users (migration 0011): an
 * insert adds the row, an update that changes last_login_at moves it. It is an index that lives outside
 * the users row. With last_login_at in a users index, every login was a new row version with an entry in
 * each of the table's indexes (the two GIN search indexes among them); now no users index names a column a
 * login writes, so the login's update is HOT and the order moves in this narrow table (two btree entries).
 */
export const userLoginOrder = pgTable(
  "user_login_order",
  {
    userId: uuid("user_id")
      .primaryKey()
      .references(() => users.id, { onDelete: "cascade" }),
    /** users.last_login_at, '-infinity' for a user who never logged in: the sort key, never null. */
    lastLoginAt: timestamptz("last_login_at").notNull(),
  },
  (t) => [index("user_login_order_key_idx").on(t.lastLoginAt, t.userId)],
);

/** One row per login: the refresh-token family. Access tokens carry its id as `sid`. */
export const sessions = pgTable(
  "sessions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    lastUsedAt: timestamptz("last_used_at").notNull().defaultNow(),
    expiresAt: timestamptz("expires_at").notNull(),
    revokedAt: timestamptz("revoked_at"),
    revokedReason: text("revoked_reason"),
    ip: text("ip"),
    userAgent: text("user_agent"),
    // How and when the session was authenticated, so further factors (passkeys, social logins) join as
    // further values rather than new columns: RFC 8176 method names ("pwd", "otp") plus "recovery_code".
    amr: text("amr").array().notNull().default(sql`'{}'::text[]`),
    authTime: timestamptz("auth_time").notNull().defaultNow(),
    /** When a second factor was last proven in this session (verifyMfa, or confirming TOTP in it). */
    mfaVerifiedAt: timestamptz("mfa_verified_at"),
    /**
     * Set while the session waits for its second factor: it may call only the @allowPendingMfa fields,
     * cannot be refreshed, and is dead after this instant. Null for a complete session.
     */
    mfaPendingUntil: timestamptz("mfa_pending_until"),
  },
  (t) => [index("sessions_user_id_idx").on(t.userId, t.createdAt)],
);

/**
 * Every refresh token ever issued for a session, stored as SHA-256 only. A used row stays until its
 * session is deleted so that presenting it again is recognised as reuse and revokes the family.
 */
export const refreshTokens = pgTable(
  "refresh_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    sessionId: uuid("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    usedAt: timestamptz("used_at"),
  },
  (t) => [index("refresh_tokens_session_id_idx").on(t.sessionId)],
);

/** Append-only trail of security-relevant events, written in the transaction of the change. */
export const auditEvents = pgTable(
  "audit_events",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    at: timestamptz("at").notNull().defaultNow(),
    action: text("action").notNull(),
    // No foreign keys: the trail outlives whatever it mentions.
    actorId: uuid("actor_id"),
    targetId: uuid("target_id"),
    ip: text("ip"),
    details: jsonb("details").$type<Record<string, unknown>>(),
  },
  (t) => [
    index("audit_events_at_idx").on(t.at.desc(), t.id.desc()),
    index("audit_events_actor_idx").on(t.actorId, t.at.desc()),
    index("audit_events_target_idx").on(t.targetId, t.at.desc()),
    index("audit_events_action_idx").on(t.action, t.at.desc()),
  ],
);

export type UserRow = typeof users.$inferSelect;
export type SessionRow = typeof sessions.$inferSelect;
export type AuditEventRow = typeof auditEvents.$inferSelect;

export const emailTokenKind = pgEnum("email_token_kind", ["VERIFY_EMAIL", "CHANGE_EMAIL", "RESET_PASSWORD"]);
export type EmailTokenKind = (typeof emailTokenKind.enumValues)[number];

/**
 * Single-use tokens sent by email, stored as SHA-256 only. `email` is the address the token was
 * sent to: what a VERIFY_EMAIL or CHANGE_EMAIL token proves the user controls.
 */
export const emailTokens = pgTable(
  "email_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    kind: emailTokenKind("kind").notNull(),
    email: citext("email").notNull(),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    expiresAt: timestamptz("expires_at").notNull(),
    usedAt: timestamptz("used_at"),
  },
  (t) => [index("email_tokens_user_kind_idx").on(t.userId, t.kind)],
);

export const outboxStatus = pgEnum("email_outbox_status", ["PENDING", "SENT", "FAILED"]);

/**
 * Emails to send, written in the transaction of the change that causes them. The delivery worker
 * claims due rows with a lease; the row id is the provider's idempotency key.
 */
export const emailOutbox = pgTable(
  "email_outbox",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    template: text("template").notNull(),
    toAddress: text("to_address").notNull(),
    subject: text("subject").notNull(),
    // Bodies hold single-use links: sealed at rest (lib/sealed.ts, opened only to send), and
    // cleared once the row is sent or given up.
    textBody: text("text_body"),
    htmlBody: text("html_body"),
    status: outboxStatus("status").notNull().default("PENDING"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: timestamptz("next_attempt_at").notNull().defaultNow(),
    lockedUntil: timestamptz("locked_until"),
    lastError: text("last_error"),
    providerMessageId: text("provider_message_id"),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    sentAt: timestamptz("sent_at"),
  },
  (t) => [
    index("email_outbox_due_idx").on(t.nextAttemptAt).where(sql`${t.status} = 'PENDING'`),
    // The /metrics gauges: unsent rows by status and age, without reading the sent ones (most rows).
    index("email_outbox_unsent_idx").on(t.status, t.createdAt).where(sql`${t.status} in ('PENDING', 'FAILED')`),
  ],
);

export type EmailOutboxRow = typeof emailOutbox.$inferSelect;

/**
 * A user's second factors, one row per user that ever started a TOTP setup (kept out of the wide
 * users row, which every request reads). The secret is sealed (lib/sealed.ts) with the user id as
 * associated data, so a sealed secret copied to another row does not open.
 */
export const userMfa = pgTable("user_mfa", {
  userId: uuid("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  totpSecret: text("totp_secret").notNull(),
  /** Null while the setup waits for confirmTotpSetup; TOTP is on once it is set. */
  totpEnabledAt: timestamptz("totp_enabled_at"),
  /** The newest RFC 6238 time step accepted for this user: a compare-and-set refuses it and older ones again. */
  lastTotpStep: bigint("last_totp_step", { mode: "number" }),
  createdAt: timestamptz("created_at").notNull().defaultNow(),
  updatedAt: timestamptz("updated_at").notNull().defaultNow(),
});

/** Single-use recovery codes, stored as SHA-256 only (each carries 120 random bits). */
export const recoveryCodes = pgTable(
  "recovery_codes",
  {
    codeHash: text("code_hash").primaryKey(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    usedAt: timestamptz("used_at"),
  },
  (t) => [index("recovery_codes_user_id_idx").on(t.userId)],
);

export type UserMfaRow = typeof userMfa.$inferSelect;

/**
 * A provider identity linked to a user (API.md §8): (issuer, subject), never an email, names it. The email
 * is what the provider said when it was linked, for display only.
 */
export const userIdentities = pgTable(
  "user_identities",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** The configured provider name (google, corp, github). */
    provider: text("provider").notNull(),
    issuer: text("issuer").notNull(),
    subject: text("subject").notNull(),
    email: text("email"),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
  },
  (t) => [uniqueIndex("user_identities_issuer_subject_key").on(t.issuer, t.subject), index("user_identities_user_id_idx").on(t.userId)],
);

export type UserIdentityRow = typeof userIdentities.$inferSelect;

export const oauthFlowPurpose = pgEnum("oauth_flow_purpose", ["LOGIN", "LINK"]);

/**
 * A started authorization-code flow, kept server-side so any instance can finish it. Single use
 * (used_at set by a compare-and-set), 10 minutes. The PKCE verifier is sealed with the flow id as
 * associated data; state and nonce are compared, not secret once the browser has them.
 */
export const oauthFlows = pgTable(
  "oauth_flows",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    provider: text("provider").notNull(),
    purpose: oauthFlowPurpose("purpose").notNull(),
    /** The linking user (LINK only). */
    userId: uuid("user_id").references(() => users.id, { onDelete: "cascade" }),
    state: text("state").notNull(),
    nonce: text("nonce").notNull(),
    codeVerifierSealed: text("code_verifier_sealed").notNull(),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    expiresAt: timestamptz("expires_at").notNull(),
    usedAt: timestamptz("used_at"),
  },
  (t) => [index("oauth_flows_expires_at_idx").on(t.expiresAt)],
);

export type OAuthFlowRow = typeof oauthFlows.$inferSelect;

/**
 * The ES256 signing keys (API.md §9), shared by every instance. A key is published (in the JWKS) from
 * created_at, signs from signs_from (at least the JWKS max-age + 5 minutes later, so every verifier's
 * cached JWKS already holds it), stops signing at retired_at and leaves the JWKS at published_until
 * (retired_at + the access-token TTL: every token it signed has expired). revoked_at ends it at once.
 * The private key is a sealed PKCS#8 PEM (lib/sealed.ts) with the kid as associated data.
 */
export const signingKeys = pgTable(
  "signing_keys",
  {
    kid: text("kid").primaryKey(),
    alg: text("alg").notNull(),
    publicJwk: jsonb("public_jwk").notNull().$type<Record<string, string>>(),
    privateKey: text("private_key").notNull(),
    createdAt: timestamptz("created_at").notNull(),
    signsFrom: timestamptz("signs_from").notNull(),
    retiredAt: timestamptz("retired_at"),
    publishedUntil: timestamptz("published_until"),
    revokedAt: timestamptz("revoked_at"),
  },
  (t) => [index("signing_keys_created_at_idx").on(t.createdAt)],
);

export type SigningKeyRow = typeof signingKeys.$inferSelect;
