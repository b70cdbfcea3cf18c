import { z } from "zod";
import { parseInput } from "./validation.js";

/**
 * The page arguments of every offset-paged list (API.md §4): size 1..100, page >= 1. Extend it with a
 * list's own filter fields, so one parse reports every bad argument at once.
 */
export const pageSchema = z.object({
  page: z.number().int().min(1, "page must be 1 or more"),
  size: z.number().int().min(1, "size must be from 1 to 100").max(100, "size must be from 1 to 100"),
});

export interface PageRequest {
  page: number;
  size: number;
  /** Rows to skip: (page - 1) * size. */
  offset: number;
}

/** Validates page and size (BAD_USER_INPUT naming each bad one) and computes the offset. */
export function parsePage(page: number, size: number): PageRequest {
  return pageRequest(parseInput(pageSchema, { page, size }));
}

/** The offset of an already validated page. */
export const pageRequest = ({ page, size }: { page: number; size: number }): PageRequest => ({ page, size, offset: (page - 1) * size });

/** A page of rows with an exact total, as both offset-paged lists answer. */
export interface Page<T> {
  rows: T[];
  total: number;
  page: number;
  size: number;
  pages: number;
}

/** Wraps one page of rows: `pages` counts every page of `total` rows. */
export function toPage<T>(rows: T[], total: number, request: PageRequest): Page<T> {
  return { rows, total, page: request.page, size: request.size, pages: Math.ceil(total / request.size) };
}
