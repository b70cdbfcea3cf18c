import type postgres from "postgres";

/** A real argon2id hash (production parameters) of BENCH_PASSWORD, for the users the benchmark logs in as. */
export const BENCH_PASSWORD = "correct horse battery staple";

const FIRST = [
  "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
  "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
  "Amara", "Hiro", "Ines", "Jamal", "Farah", "Dmitri", "Grace", "Chen", "Priya", "Lars", "Sofia", "Mateo",
  "Aisha", "Kenji", "Olga", "Tariq", "Nadia", "Pablo", "Yuki", "Zara",
];
const LAST = [
  "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
  "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
  "Okafor", "Tanaka", "Rossi", "Novak", "Silva", "Kowalski", "Müller", "Nguyen", "Kim", "Haddad", "Ivanova",
  "Larsen", "Dubois", "Costa", "Sato", "Cohen", "Fischer", "Moreau", "Yilmaz", "Papadopoulos",
];
const DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "proton.me", "example.org", "acme.io", "fastmail.com", "icloud.com"];

const sqlArray = (values: string[]) => `array[${values.map((v) => `'${v.replace(/'/g, "''")}'`).join(",")}]`;

/**
 * `n` users with SQL alone: realistic names and addresses, created over two years, about 2% admins,
 * 10% inactive, 1% deleted, three quarters logged in over the last 90 days; one session per ten users
 * and one audit event per user. User 1 (bench.admin@…) is an active admin and user 2 (bench.user@…)
 * an active user, both with BENCH_PASSWORD.
 */
export async function seed(sql: postgres.Sql, n: number, passwordHash: string): Promise<void> {
  await sql.unsafe("truncate table refresh_tokens, sessions, audit_events, email_tokens, email_outbox, users cascade");
  // A bulk load, done as one: the trigram index (migrations 0005 and 0010 turn its pending list off for the
  // one-row updates of normal traffic) takes the million rows through a pending list, merged by the
  // VACUUM below, then is set back as the migration leaves it. Row by row it took 2.5x as long.
  const GIN = ["users_search_trgm_idx"];
  for (const index of GIN) await sql.unsafe(`alter index ${index} set (fastupdate = on)`);
  await sql.unsafe(`
    insert into users (email, full_name, password_hash, role, is_active, email_verified, created_at, last_login_at, login_count, deleted_at)
    select
      case g when 1 then 'bench.admin@example.com' when 2 then 'bench.user@example.com'
        else lower(f.first || '.' || l.last) || '.' || g || '@' || (${sqlArray(DOMAINS)})[1 + g % ${DOMAINS.length}] end,
      f.first || ' ' || l.last,
      '${passwordHash.replace(/'/g, "''")}',
      (case when g = 1 or (g > 2 and g % 50 = 0) then 'ADMIN' else 'USER' end)::user_role,
      g <= 2 or g % 10 <> 0,
      g % 4 <> 0,
      now() - ((g::bigint * 7919) % (730 * 86400)) * interval '1 second',
      case when g % 4 = 3 then null else now() - ((g::bigint * 104729) % (90 * 86400)) * interval '1 second' end,
      g % 40,
      case when g > 2 and g % 100 = 7 then now() - (g % 30) * interval '1 day' else null end
    from generate_series(1, ${n}) g
    cross join lateral (select (${sqlArray(FIRST)})[1 + (g * 31) % ${FIRST.length}] as first) f
    cross join lateral (select (${sqlArray(LAST)})[1 + (g * 17 / ${FIRST.length}) % ${LAST.length}] as last) l
  `);
  await sql.unsafe(`
    insert into sessions (user_id, created_at, last_used_at, expires_at, ip, user_agent)
    select id, created_at, created_at, now() + interval '30 days', '203.0.113.' || (n % 250), 'bench'
    from (select id, created_at, row_number() over () as n from users) u where n % 10 = 0
  `);
  await sql.unsafe(`
    insert into audit_events (action, actor_id, target_id, at, details)
    select (array['user.registered','user.login','user.login_failed'])[1 + n % 3], id, id, created_at, '{}'::jsonb
    from (select id, created_at, row_number() over () as n from users) u
  `);
  // VACUUM, not just ANALYZE: it also merges the trigram indexes' pending lists.
  await sql.unsafe("vacuum analyze");
  for (const index of GIN) await sql.unsafe(`alter index ${index} set (fastupdate = off)`);
}
