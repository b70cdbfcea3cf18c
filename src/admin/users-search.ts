import { or, sql, type SQL } from "drizzle-orm";
import { users } from "../db/schema.js";

/*
 * The substring condition of UserFilter.query (3 characters or more), and the two indexes it is written for
 * (migration 0010).
 */

/**
 * What a term is matched against: the lower-cased email and full name joined by U+0001, the expression of
 * users_search_trgm_idx (one trigram index, so one bitmap scan serves both columns). No substring reaches
 * across the separator unless it contains U+0001 itself, so for any other term "in this text" is exactly
 * "in the email or in the full name". pg_trgm splits words at the separator, so the text has the trigrams
 * of the two columns and no others.
 */
const SEARCH_TEXT = sql`(lower(${users.email}::text) || U&'\\0001' || lower(${users.fullName}))`;
const SEPARATOR = "\u0001";

/**
 * The words of the same text, the expression of users_search_words_idx: its runs of a-z and 0-9, split at
 * every other character (a range of code points, the same in any locale). A word of the term that has a
 * non-word character on its left within the term is a whole word of every matching row, or (at the term's
 * end) the start of one; the index finds those rows from their words.
 */
const WORDS_TEXT = sql`lower(${users.email}::text) || ' ' || lower(${users.fullName})`;
const SEARCH_WORDS = sql`array_to_tsvector(array_remove(regexp_split_to_array(${WORDS_TEXT}, '[^a-z0-9]+'), ''))`;

/** Shorter words, as prefixes, would read the posting lists of too many index entries. */
const MIN_WORD = 3;

/** Every character that means something in a PostgreSQL regular expression (ARE), escaped: the rest is literal. */
const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, (c) => `\\${c}`);

/**
 * The words of a (lower-cased) term that every row containing it must have, as a tsquery: a run of a-z0-9
 * bounded on both sides within the term is a whole word ('brown'), one bounded on its left only starts a
 * word ('991632':*), one that starts the term may be the end of a longer word and says nothing. Null when
 * no such word has MIN_WORD characters.
 */
export function requiredWords(term: string): string | null {
  const words: string[] = [];
  for (const m of term.matchAll(/[a-z0-9]+/g)) {
    const start = m.index;
    const end = start + m[0].length;
    if (start === 0 || m[0].length < MIN_WORD) continue;
    words.push(end < term.length ? `'${m[0]}'` : `'${m[0]}':*`);
  }
  return words.length > 0 ? words.join(" & ") : null;
}

/**
 * Rows whose email or full name contains `term` (lower-cased, 3 characters or more). With a word the rows
 * must have, the words index finds them and strpos checks the substring: at 1M users a fragment such as
 * "sha.brown.991632" reads one index entry for '991632':*, where each of its trigrams is in 4,000 rows and
 * the trigram scan took 3 ms. Without one, the trigram index does, as a regex of the escaped term (pg_trgm
 * takes a regex's trigrams from a graph that can leave out frequent word-boundary ones, where LIKE keeps
 * every one). The two are never combined: a BitmapAnd would pay for the trigram scan the words avoid.
 */
export function substringCondition(term: string): SQL {
  const pattern = escapeRegex(term);
  // No index; never a real name or address (both refuse control characters).
  if (term.includes(SEPARATOR)) return or(sql`lower(${users.email}::text) ~ ${pattern}`, sql`lower(${users.fullName}) ~ ${pattern}`)!;
  const words = requiredWords(term);
  // strpos is the same substring test and no index serves it, so the planner reads only the words index.
  return words ? sql`(${SEARCH_WORDS} @@ ${words}::tsquery and strpos(${SEARCH_TEXT}, ${term}) > 0)` : sql`${SEARCH_TEXT} ~ ${pattern}`;
}
