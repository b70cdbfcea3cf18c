import { expect } from "vitest";
import type { Filter, Order, SortField } from "./admin-users.js";
import type { GqlResponse, TestServer } from "./server.js";

/* usersConnection with every Relay argument and pageInfo field, and walks in both directions that check
 * the page flags of every page (tests/admin-users-connection.test.ts). */

export interface RelayPageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}
export interface RelayConnection {
  totalCount: number;
  edges: Array<{ cursor: string; node: { id: string } }>;
  pageInfo: RelayPageInfo;
}
export interface RelayVars {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
  filter?: Filter;
  sortBy?: SortField;
  sortOrder?: Order;
}

export const RELAY_CONNECTION = /* GraphQL */ `
  query Conn($first: Int, $after: String, $last: Int, $before: String, $filter: UserFilter, $sortBy: UserSortField, $sortOrder: SortOrder) {
    usersConnection(first: $first, after: $after, last: $last, before: $before, filter: $filter, sortBy: $sortBy, sortOrder: $sortOrder) {
      totalCount edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`;

/** The ids of a page's edges, in order. */
export const ids = (c: RelayConnection): string[] => c.edges.map((e) => e.node.id);
/** Both page flags, short. */
export const flags = (c: RelayConnection) => ({ prev: c.pageInfo.hasPreviousPage, next: c.pageInfo.hasNextPage });

/** The connection calls of a test file, bound to its server and admin (read when called). */
export function relayCalls(get: () => { t: TestServer; token: string }) {
  const call = (vars: RelayVars, query = RELAY_CONNECTION): Promise<GqlResponse<{ usersConnection: RelayConnection }>> =>
    get().t.gql<{ usersConnection: RelayConnection }>(query, { ...vars }, { token: get().token });

  /** One page, without errors, whose startCursor and endCursor are its ends' cursors (null together when empty). */
  async function conn(vars: RelayVars): Promise<RelayConnection> {
    const res = await call(vars);
    expect(res.body.errors).toBeUndefined();
    const c = res.body.data!.usersConnection;
    expect(c.pageInfo.startCursor).toBe(c.edges[0]?.cursor ?? null);
    expect(c.pageInfo.endCursor).toBe(c.edges.at(-1)?.cursor ?? null);
    return c;
  }

  /** Pages forward to the end, checking both flags of every page; every user's cursor on the way. */
  async function walkForward(vars: RelayVars, size: number): Promise<{ pages: string[][]; cursors: Map<string, string> }> {
    const pages: string[][] = [];
    const cursors = new Map<string, string>();
    let after: string | null = null;
    for (let guard = 0; guard < 100; guard += 1) {
      const c = await conn({ ...vars, first: size, after });
      for (const e of c.edges) cursors.set(e.node.id, e.cursor);
      expect(flags(c).prev).toBe(pages.length > 0);
      pages.push(ids(c));
      if (!c.pageInfo.hasNextPage) return { pages, cursors };
      after = c.pageInfo.endCursor;
    }
    throw new Error("never reached hasNextPage: false");
  }

  /** Pages backward from the end to the start, checking both flags of every page; pages in list order. */
  async function walkBackward(vars: RelayVars, size: number): Promise<string[][]> {
    const pages: string[][] = [];
    let before: string | null = null;
    for (let guard = 0; guard < 100; guard += 1) {
      const c = await conn({ ...vars, last: size, before });
      expect(flags(c).next).toBe(pages.length > 0);
      pages.unshift(ids(c));
      if (!c.pageInfo.hasPreviousPage) return pages;
      before = c.pageInfo.startCursor;
    }
    throw new Error("never reached hasPreviousPage: false");
  }

  return { call, conn, walkForward, walkBackward };
}
