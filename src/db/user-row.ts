import { getTableColumns } from "drizzle-orm";
import { users, type UserRow } from "./schema.js";

/** The users table's columns in declaration order, as [property key, drizzle column]. */
export const USER_COLUMNS = Object.entries(getTableColumns(users));

/**
 * A users row as a statement of our own returns it (by position, or by database column name), mapped as
 * drizzle's select maps it: each column's own decoder, NULL as null. For the hot statements that run
 * outside drizzle's query builder (the per-request session check, the login statement).
 */
export function decodeUserRow(valueOf: (columnName: string, index: number) => unknown): UserRow {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < USER_COLUMNS.length; i++) {
    const [key, column] = USER_COLUMNS[i]!;
    const value = valueOf(column.name, i);
    row[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return row as UserRow;
}
