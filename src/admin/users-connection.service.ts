import { and, sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { Queryable } from "../db/client.js";
import { pgErrorCode } from "../db/errors.js";
import { users, type UserRow } from "../db/schema.js";
import { badInput } from "../errors.js";
import { parseInput } from "../lib/validation.js";
import type { SortOrder, UserFilter, UserSortField } from "./admin.types.js";
import { orderBy, SORT_KEY, userWhere, withSortTable } from "./users-query.service.js";

/*
 * usersConnection as the Relay Cursor Connections spec describes it (first/after, last/before, the
 * pageInfo flags), on keysets: every page, forward or backward, is one seek into the sort's (key, id)
 * index followed by at most LIMIT + 1 rows, so a deep page costs what the first one costs.
 */

/** A position in one sort: the sort key as text and the id that breaks ties. */
export interface Cursor {
  sortBy: UserSortField;
  sortOrder: SortOrder;
  key: string;
  id: string;
}

type CursorArg = "after" | "before";

/** The opaque cursor string of a position. */
export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.sortBy, c.sortOrder, c.key, c.id])).toString("base64url");
}

/** The cursor's position, or null when it is not a cursor of this sort. */
function decodeCursor(raw: string, sortBy: UserSortField, sortOrder: SortOrder): Cursor | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  const ok = z.tuple([z.literal(sortBy), z.literal(sortOrder), z.string().max(500), z.uuid()]).safeParse(parsed);
  if (!ok.success) return null;
  const [, , key, id] = ok.data;
  if (sortBy === "ROLE" && key !== "USER" && key !== "ADMIN") return null;
  return { sortBy, sortOrder, key, id };
}

/** `after` and `before` decoded (null when absent); BAD_USER_INPUT naming each one that is not a cursor of this sort. */
function decodeCursors(args: ConnectionArgs): [Cursor | null, Cursor | null] {
  const bad: CursorArg[] = [];
  const decode = (field: CursorArg): Cursor | null => {
    const raw = args[field];
    if (!raw) return null;
    const cursor = decodeCursor(raw, args.sortBy, args.sortOrder);
    if (!cursor) bad.push(field);
    return cursor;
  };
  const cursors: [Cursor | null, Cursor | null] = [decode("after"), decode("before")];
  if (bad.length > 0) {
    const message = "Invalid cursor: use an endCursor, startCursor or edge cursor from the same sortBy and sortOrder";
    throw badInput(bad.map((field) => ({ field, message })));
  }
  return cursors;
}

const PAGE_SIZE_MESSAGE = (name: string) => `${name} must be from 1 to 100`;
const countSchema = (name: string) => z.number().int().min(1, PAGE_SIZE_MESSAGE(name)).max(100, PAGE_SIZE_MESSAGE(name)).nullish();
const sizeSchema = z.object({ first: countSchema("first"), last: countSchema("last") });

/** With neither `first` nor `last`, the first 20. */
const DEFAULT_FIRST = 20;

export interface ConnectionArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
  filter?: UserFilter | null;
  sortBy: UserSortField;
  sortOrder: SortOrder;
}

export interface UserSlice {
  /** In the sort's order, whichever way the page was read. */
  rows: Array<{ user: UserRow; cursor: string }>;
  /** Known from the LIMIT + 1 row, or an existence probe that runs only when called (once). */
  hasNextPage: () => Promise<boolean>;
  hasPreviousPage: () => Promise<boolean>;
}

const known = (value: boolean) => () => Promise.resolve(value);

function once<T>(run: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => (result ??= run());
}

/**
 * One page of a connection. Forward (`first`, default 20): rows strictly after `after`, in the sort's
 * order, LIMIT first + 1. Backward (`last`): the sort reversed, rows strictly before `before`, LIMIT
 * last + 1, then reversed back, so the same index seeks from the other side. `after` and `before`
 * together bound the window at both ends, as the spec allows. The flag the extra row cannot answer
 * (hasPreviousPage after `after`, hasNextPage before `before`) is an existence probe of one index
 * entry, run only when the client asks for it.
 */
export async function sliceUsers(db: Queryable, args: ConnectionArgs): Promise<UserSlice> {
  const sizes = parseInput(sizeSchema, { first: args.first, last: args.last });
  if (sizes.first != null && sizes.last != null) {
    const message = "Give first or last, not both";
    throw badInput([{ field: "first", message }, { field: "last", message }]);
  }
  const [after, before] = decodeCursors(args);
  const backward = sizes.last != null;
  const size = sizes.last ?? sizes.first ?? DEFAULT_FIRST;
  const where = userWhere(args.filter);
  const position = positions(args.sortBy, args.sortOrder);
  const window = [where, after ? position.later(after) : undefined, before ? position.earlier(before) : undefined];

  const read = readRows(db, args, [after, before]);
  const found = await read(and(...window), backward, size + 1);
  const more = found.length > size;
  const page = backward ? found.slice(0, size).reverse() : found.slice(0, size);
  // Anything at or before `after` (the cursor's own row included, if it still matches) precedes the
  // page; anything at or after `before` follows it. One row read from the index answers either.
  const anyUpTo = (c: Cursor) => once(async () => (await read(and(where, position.notLater(c)), true, 1)).length > 0);
  const anyFrom = (c: Cursor) => once(async () => (await read(and(where, position.notEarlier(c)), false, 1)).length > 0);
  return {
    rows: page.map((r) => ({
      user: r.user,
      cursor: encodeCursor({ sortBy: args.sortBy, sortOrder: args.sortOrder, key: r.key, id: r.user.id }),
    })),
    hasNextPage: !backward ? known(more) : before ? anyFrom(before) : known(false),
    hasPreviousPage: backward ? known(more) : after ? anyUpTo(after) : known(false),
  };
}

/** Row comparisons of (sort key, id) with a cursor, in the terms of the list's order (DESC flips them). */
function positions(sortBy: UserSortField, sortOrder: SortOrder) {
  const key = SORT_KEY[sortBy];
  const compare = (c: Cursor, ascOp: string, descOp: string): SQL => {
    const castKey = sql`cast(${c.key} as ${sql.raw(key.type)})`;
    // One row comparison, which the (key, id) index takes as its seek condition.
    return sql`(${key.key}, ${key.id}) ${sql.raw(sortOrder === "ASC" ? ascOp : descOp)} (${castKey}, ${c.id}::uuid)`;
  };
  return {
    later: (c: Cursor) => compare(c, ">", "<"),
    earlier: (c: Cursor) => compare(c, "<", ">"),
    notLater: (c: Cursor) => compare(c, "<=", ">="),
    notEarlier: (c: Cursor) => compare(c, ">=", "<="),
  };
}

/** The query every page and probe runs: the sort's order, or its reverse, with its key as text for the cursor. */
function readRows(db: Queryable, args: ConnectionArgs, cursors: Array<Cursor | null>) {
  const reversed: SortOrder = args.sortOrder === "ASC" ? "DESC" : "ASC";
  const key = SORT_KEY[args.sortBy];
  return async (where: SQL | undefined, backward: boolean, limit: number) => {
    try {
      return await withSortTable(db.select({ user: users, key: sql<string>`(${key.expr})::text` }).from(users).$dynamic(), args.sortBy)
        .where(where)
        .orderBy(...orderBy(args.sortBy, backward ? reversed : args.sortOrder))
        .limit(limit);
    } catch (err) {
      // A cursor whose key the database cannot read as its sort type (22xxx: data exception) was
      // made up or tampered with: that is bad input, not a server fault.
      if (pgErrorCode(err)?.startsWith("22")) {
        const bad = await unreadableCursors(db, key.type, cursors);
        if (bad.length > 0) throw badInput(bad.map((field) => ({ field, message: "Invalid cursor: its key does not fit the sort" })));
      }
      throw err;
    }
  };
}

/** Which of the cursors (after, before) hold a key the database cannot cast to the sort's type. */
async function unreadableCursors(db: Queryable, type: string, cursors: Array<Cursor | null>): Promise<CursorArg[]> {
  const bad: CursorArg[] = [];
  for (const [i, c] of cursors.entries()) {
    if (!c) continue;
    try {
      await db.execute(sql`select cast(${c.key} as ${sql.raw(type)})`);
    } catch (err) {
      if (!pgErrorCode(err)?.startsWith("22")) throw err;
      bad.push(i === 0 ? "after" : "before");
    }
  }
  return bad;
}
