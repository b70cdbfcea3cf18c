import { z } from "zod";
import { badInput, type FieldError } from "../errors.js";

/** Trimmed and case-folded, RFC 5321's 254 characters at most. */
export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(254, "Email must be at most 254 characters")
  .pipe(z.email({ message: "Enter a valid email address" }));

// In a "u" regex a surrogate pair is one code point: only a lone surrogate is \p{Cs}.
const LONE_SURROGATE = /\p{Cs}/u;
/** False for a string with a lone surrogate (String.prototype.isWellFormed, which ES2023 lacks). */
export const isWellFormedText = (s: string): boolean => !LONE_SURROGATE.test(s);

// Control characters in a display name only ever serve to break someone's log or UI. \p{Cc} is exactly
// U+0000-U+001F and U+007F-U+009F, named without writing control characters into the pattern.
const CONTROL_CHARS = /\p{Cc}/u;
// Bidi controls reorder the text around a name ("Bob\u202Enimda" shows as "Bobadmin"); zero-width
// characters make two names that look the same differ. API.md §5.
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/;
const ZERO_WIDTH = /[\u200b-\u200d\u2060\ufeff]/;

export const fullNameSchema = z
  .string()
  .refine(isWellFormedText, { message: "Full name must be valid Unicode text", abort: true })
  // Before trim(), which would silently drop a leading or trailing U+FEFF.
  .refine((v) => !BIDI_CONTROLS.test(v), "Full name must not contain text-direction controls")
  .refine((v) => !ZERO_WIDTH.test(v), "Full name must not contain invisible characters")
  .trim()
  .min(1, "Full name is required")
  .max(100, "Full name must be at most 100 characters")
  .refine((v) => !CONTROL_CHARS.test(v), "Full name must not contain control characters");

export const uuidSchema = z.uuid({ message: "Must be a valid ID" });

/**
 * Strings that are not well-formed UTF-16 (a lone surrogate, which JSON's "\ud800" can carry): the
 * database refuses them inside JSON (an audit row) and silently replaces them elsewhere, so one never
 * goes further than this. Paths as in parseInput's field names.
 */
function illFormedStrings(value: unknown, path: string[] = [], out: FieldError[] = []): FieldError[] {
  if (typeof value === "string") {
    if (!isWellFormedText(value)) out.push({ field: path.join(".") || "input", message: "Must be valid Unicode text" });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => illFormedStrings(v, [...path, String(i)], out));
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) illFormedStrings(v, [...path, k], out);
  }
  return out;
}

/**
 * Parses `input` with `schema`, or throws BAD_USER_INPUT naming every bad field, one message each: the
 * field is its path joined with dots ("input" for the value as a whole). `extraErrors`, problems the
 * caller found first (the password policy of register), are reported with the schema's. A string that
 * is not well-formed Unicode is refused here, for every input of every service, whatever its schema.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, extraErrors: FieldError[] = []): z.output<S> {
  const fields: FieldError[] = [];
  for (const e of [...illFormedStrings(input), ...extraErrors]) if (!fields.some((f) => f.field === e.field)) fields.push(e);
  const result = schema.safeParse(input);
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
