import { z } from "zod";
import { badInput, type FieldError } from "../errors.js";

/** Trimmed and case-folded, RFC 5321's 254 characters at most. */
export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(254, "Email must be at most 254 characters")
  .pipe(z.email({ message: "Enter a valid email address" }));

// Control characters in a display name only ever serve to break someone's log or UI.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

export const fullNameSchema = z
  .string()
  .trim()
  .min(1, "Full name is required")
  .max(100, "Full name must be at most 100 characters")
  .refine((v) => !CONTROL_CHARS.test(v), "Full name must not contain control characters");

export const uuidSchema = z.uuid({ message: "Must be a valid ID" });

/**
 * Parses `input` with `schema`, or throws BAD_USER_INPUT naming every bad field (path joined with
 * dots, prefixed with `prefix` when the input is nested under an argument such as `input`).
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, extraErrors: FieldError[] = []): z.output<S> {
  const result = schema.safeParse(input);
  const fields = [...extraErrors];
  if (!result.success) {
    for (const issue of result.error.issues) {
      const field = issue.path.map(String).join(".") || "input";
      // One message per field is what a form can show.
      if (!fields.some((f) => f.field === field)) fields.push({ field, message: issue.message });
    }
  }
  if (fields.length > 0 || !result.success) throw badInput(fields);
  return result.data;
}

/** A UUID argument, lower-cased: ids compare as strings in code, and "ABC…" must equal "abc…". */
export function parseId(id: string, field = "id"): string {
  return (parseInput(z.object({ [field]: uuidSchema }), { [field]: id })[field] as string).toLowerCase();
}
