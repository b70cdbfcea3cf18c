import { importJWK, importPKCS8 } from "jose";
import type { Redis } from "ioredis";
import type { CryptoKey } from "jose";
import type { Deps, PublicJwk, SigningKeySet } from "../../deps.js";
import type { SigningKeyRow } from "../../db/schema.js";
import { safeError } from "../../lib/safe-error.js";
import { SealedValueError } from "../../lib/sealed.js";
import { rotateKeys } from "./rotation.service.js";
import { SIGNING_ALG, findFirstKeyAt, findLiveKeys, openPrivateKey, toPublicJwk } from "./signing-keys.repo.js";

/**
 * How often each instance re-reads the key set and checks whether a rotation is due. Without Redis it
 * also bounds how long another instance keeps accepting a key revoked elsewhere.
 */
export const KEY_SET_RELOAD_MS = 60_000;

const SUBSCRIBE_WAIT_MS = 2_000;
/** How far behind another instance's this one's clock may be when it takes a key that signs "from now". */
const CLOCK_SKEW_MS = 60_000;

interface LoadedKey {
  readonly kid: string;
  readonly jwk: PublicJwk;
  readonly signsFrom: number;
  readonly retiredAt: number | null;
  readonly publishedUntil: number | null;
  readonly publicKey: CryptoKey;
  /** Undefined when it does not open here (another ENCRYPTION_SECRET): this instance then only verifies with it. */
  readonly privateKey: CryptoKey | undefined;
}

type KeySetDeps = Pick<Deps, "db" | "config" | "now" | "logger" | "redis">;

/** The Redis channel on which instances tell each other the key set changed. */
export const keysChannel = (config: Deps["config"]) => `${config.redisPrefix}signing-keys`;

/**
 * The key set of this instance: loaded from signing_keys (ES256; empty under HS256), answered from
 * memory, re-read every KEY_SET_RELOAD_MS and at once when another instance announces a change.
 */
export function createKeySet(deps: KeySetDeps, { reloadMs = KEY_SET_RELOAD_MS }: { reloadMs?: number } = {}): SigningKeySet {
  const es256 = deps.config.jwt.algorithm === "ES256";
  let keys: LoadedKey[] = [];
  let firstKeyAt: number | null = null;
  // Imported once per kid: importing a key is far slower than a signature.
  const imported = new Map<string, Promise<{ publicKey: CryptoKey; privateKey: CryptoKey | undefined }>>();
  let loading: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let subscriber: Redis | undefined;

  // Published from the moment its row exists (created_at is that moment on the creator's clock).
  const published = (k: LoadedKey, now: number) => k.publishedUntil === null || now < k.publishedUntil;

  /**
   * A key made under another ENCRYPTION_SECRET does not open: said loudly, but the instance keeps
   * verifying with its public half rather than refusing to start.
   */
  async function openSigningKey(row: SigningKeyRow): Promise<CryptoKey | undefined> {
    try {
      return await importPKCS8(openPrivateKey(deps.config, row), SIGNING_ALG);
    } catch (err) {
      if (!(err instanceof SealedValueError)) throw err;
      const message = "signing key does not open: ENCRYPTION_SECRET differs from the instance that made it; this instance cannot sign with it";
      deps.logger.error({ kid: row.kid }, message);
      return undefined;
    }
  }

  async function load(): Promise<void> {
    if (!es256) return;
    const now = new Date(deps.now());
    const [rows, first] = await Promise.all([findLiveKeys(deps.db, now), findFirstKeyAt(deps.db)]);
    const next: LoadedKey[] = [];
    for (const row of rows) {
      let pair = imported.get(row.kid);
      if (!pair) {
        pair = (async () => ({
          publicKey: (await importJWK({ ...row.publicJwk, alg: SIGNING_ALG }, SIGNING_ALG)) as CryptoKey,
          privateKey: await openSigningKey(row),
        }))();
        imported.set(row.kid, pair);
      }
      next.push({
        kid: row.kid,
        jwk: toPublicJwk(row),
        signsFrom: row.signsFrom.getTime(),
        retiredAt: row.retiredAt?.getTime() ?? null,
        publishedUntil: row.publishedUntil?.getTime() ?? null,
        ...(await pair),
      });
    }
    // Revoked and long-unpublished keys are gone from `rows`: forget their imports too.
    for (const kid of imported.keys()) if (!next.some((k) => k.kid === kid)) imported.delete(kid);
    keys = next;
    firstKeyAt = first?.getTime() ?? null;
  }

  /** Serialised: a reload asked for during another runs after it, so the last one read the newest rows. */
  const reload = () => (loading = loading.catch(() => undefined).then(load));

  async function tick(): Promise<void> {
    try {
      if (await rotateKeys(deps, { force: false })) {
        deps.logger.info("signing keys rotated (JWT_KEY_ROTATION)");
        await announce();
      }
      await reload();
    } catch (err) {
      // The database may be away for a moment: the set in memory keeps serving until the next tick.
      deps.logger.warn({ err: safeError(err) }, "signing keys: re-read or rotation failed");
    }
  }

  async function announce(): Promise<void> {
    await deps.redis?.publish(keysChannel(deps.config), "changed").catch((err: unknown) => {
      deps.logger.warn({ err: safeError(err) }, "signing keys: could not tell the other instances; they re-read within a minute");
    });
  }

  return {
    signer() {
      const now = deps.now();
      // Keys are sorted by signsFrom: the newest that has started signing (a retired key's retiredAt is its successor's signsFrom).
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i]!;
        if (k.signsFrom <= now && (k.retiredAt === null || now < k.retiredAt)) return k.privateKey && { kid: k.kid, key: k.privateKey };
      }
      // A key that signs "from now" (the first one, a revocation's replacement) was stamped by another
      // instance's clock: one a little behind it takes that key rather than failing every login.
      const soon = keys.find((k) => k.retiredAt === null && k.signsFrom - now <= CLOCK_SKEW_MS);
      return soon?.privateKey && { kid: soon.kid, key: soon.privateKey };
    },
    verifier(kid) {
      const now = deps.now();
      const k = keys.find((key) => key.kid === kid);
      return k && published(k, now) ? k.publicKey : undefined;
    },
    jwks() {
      const now = deps.now();
      return { keys: keys.filter((k) => published(k, now)).map((k) => k.jwk) };
    },
    acceptsHs256() {
      if (!es256 || !deps.config.jwt.secretGiven || firstKeyAt === null) return false;
      return deps.now() < firstKeyAt + deps.config.jwt.accessTtl * 1000;
    },
    reload,
    async changed() {
      await reload();
      await announce();
    },
    async start() {
      if (!es256 || timer) return;
      timer = setInterval(() => void tick(), reloadMs);
      timer.unref();
      if (deps.redis) {
        // Its own connection (a subscribed one can do nothing else); queued until connected, and
        // ioredis subscribes again after a reconnect. Errors are the main client's to report.
        subscriber = deps.redis.duplicate({ enableOfflineQueue: true });
        subscriber.on("message", () => void reload().catch((err: unknown) => deps.logger.warn({ err: safeError(err) }, "signing keys: re-read failed")));
        subscriber.on("error", () => undefined);
        const subscribed = subscriber.subscribe(keysChannel(deps.config)).catch((err: unknown) => {
          deps.logger.warn({ err: safeError(err) }, "signing keys: no Redis subscription; changes from other instances arrive within a minute");
        });
        // Subscribed before serving, so no announcement is missed; a Redis away right now does not hold up the start.
        await Promise.race([subscribed, new Promise((resolve) => setTimeout(resolve, SUBSCRIBE_WAIT_MS).unref())]);
      }
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      subscriber?.disconnect();
      subscriber = undefined;
      await loading.catch(() => undefined);
    },
  };
}
