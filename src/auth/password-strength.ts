import { ZxcvbnFactory } from "@zxcvbn-ts/core";
import * as common from "@zxcvbn-ts/language-common";
import * as en from "@zxcvbn-ts/language-en";

/**
 * Most of zxcvbn's cost is its l33t matcher, which tries up to l33tMaxSubstitutions readings of the
 * password ("1" as i or l, "|" as i or l, …), each through every dictionary, and grows with the square
 * of the length. At its default of 100, a 12-character run of digits and symbols such as "1|!1|!1|!1|!"
 * took 120-200 ms on one loaded core here. 12 readings bring that under 10 ms and leave the estimates of
 * common l33t passwords (P@ssw0rd, Tr0ub4dor&3, m0nk3y123, …) unchanged.
 */
const zxcvbn = new ZxcvbnFactory({
  dictionary: { ...common.dictionary, ...en.dictionary },
  graphs: common.adjacencyGraphs,
  translations: en.translations,
  l33tMaxSubstitutions: 12,
});

/**
 * zxcvbn never sees more than this many characters at once (API.md §5: no check holds the event loop
 * for more than about 50 ms). Whole passwords cost, on one core: 16 characters ≈ 7 ms, 24 ≈ 90 ms,
 * 128 ≈ 720 ms (digits and symbols: more).
 */
export const STRENGTH_CHUNK = 12;
/** A chunk may end early, just after a separator, so that words reach the estimator whole. */
const MIN_CHUNK_BEFORE_SEPARATOR = 4;
// zxcvbn's own separator characters.
const SEPARATORS = new Set([" ", ",", ";", ":", "|", "/", "\\", "_", ".", "-"]);
/**
 * A user input (a word of the user's name or address) found anywhere in the password counts as what
 * zxcvbn makes of a user-input dictionary match: a handful of guesses (its least for a sub-match is 50),
 * doubled for capitalisation.
 */
const USER_INPUT_LOG10 = Math.log10(100);
// zxcvbn's score thresholds (TimeEstimates.guessesToScore): guesses below 1e3+5, 1e6+5, 1e8+5, 1e10+5.
const SCORE_THRESHOLDS_LOG10 = [1e3, 1e6, 1e8, 1e10].map((g) => Math.log10(g + 5));

export interface Strength {
  /** zxcvbn's 0..4. */
  score: number;
  guessesLog10: number;
  /** zxcvbn's warning and suggestions for the weakest part, for a person to read; may be empty. */
  hint: string;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

function hintOf(result: ReturnType<typeof zxcvbn.check>): string {
  return [result.feedback.warning, ...result.feedback.suggestions].filter(Boolean).join(" ");
}

/**
 * A run of one unit repeated (e.g. "abcde" x 25) longer than a chunk becomes one copy of its unit plus
 * log10(count) guesses, as zxcvbn's repeat matcher scores it. Otherwise chunks cut at different offsets
 * of the period would all differ, and look like independent random text.
 */
function collapseRepeats(password: string): { text: string; extraLog10: number } {
  let extraLog10 = 0;
  const text = password.replace(/(.+?)\1+/gsu, (run: string, unit: string) => {
    if ([...run].length <= STRENGTH_CHUNK) return run;
    extraLog10 += Math.log10(run.length / unit.length);
    return unit;
  });
  return { text, extraLog10 };
}

type Segment = { kind: "userInput"; text: string } | { kind: "chunk"; text: string };

/** Occurrences of the user inputs (case-insensitively, longest first at each position) and chunks of the rest. */
function segment(text: string, userInputs: string[]): Segment[] {
  const inputs = [...new Set(userInputs)].sort((a, b) => b.length - a.length);
  const segments: Segment[] = [];
  let gap = "";
  for (let i = 0; i < text.length; ) {
    const hit = inputs.find((w) => text.slice(i, i + w.length).toLowerCase() === w);
    if (hit) {
      if (gap) segments.push(...chunk(gap));
      gap = "";
      segments.push({ kind: "userInput", text: hit });
      i += hit.length;
    } else {
      const cp = String.fromCodePoint(text.codePointAt(i)!);
      gap += cp;
      i += cp.length;
    }
  }
  if (gap) segments.push(...chunk(gap));
  return segments;
}

function chunk(text: string): Segment[] {
  const chars = [...text];
  const out: Segment[] = [];
  let start = 0;
  while (start < chars.length) {
    let end = Math.min(start + STRENGTH_CHUNK, chars.length);
    if (end < chars.length) {
      for (let j = end - 1; j >= start + MIN_CHUNK_BEFORE_SEPARATOR - 1; j -= 1) {
        if (SEPARATORS.has(chars[j]!)) {
          end = j + 1;
          break;
        }
      }
    }
    out.push({ kind: "chunk", text: chars.slice(start, end).join("") });
    start = end;
  }
  return out;
}

/**
 * zxcvbn's estimate, bounded in time. Up to STRENGTH_CHUNK characters: zxcvbn on the whole password.
 * Longer: the password is split into parts it handles quickly (user inputs found in the whole password,
 * then chunks of the rest), each is estimated with the event loop free in between, and the guesses
 * multiply (log10s add; identical parts count once), mapped to zxcvbn's score thresholds.
 */
export async function estimateStrength(password: string, userInputs: string[]): Promise<Strength> {
  const inputs = userInputs.map((w) => w.toLowerCase()).filter((w) => w.length >= 3);
  if ([...password].length <= STRENGTH_CHUNK) {
    const result = zxcvbn.check(password, inputs);
    return { score: result.score, guessesLog10: result.guessesLog10, hint: hintOf(result) };
  }
  const { text, extraLog10 } = collapseRepeats(password);
  let guessesLog10 = extraLog10;
  let weakest: { log10: number; hint: string } | null = null;
  const seen = new Set<string>();
  for (const part of segment(text, inputs)) {
    if (seen.has(part.text)) continue;
    seen.add(part.text);
    if (part.kind === "userInput") {
      guessesLog10 += USER_INPUT_LOG10;
      continue;
    }
    await yieldToEventLoop();
    const result = zxcvbn.check(part.text, inputs);
    guessesLog10 += result.guessesLog10;
    if (!weakest || result.guessesLog10 < weakest.log10) weakest = { log10: result.guessesLog10, hint: hintOf(result) };
  }
  const score = SCORE_THRESHOLDS_LOG10.filter((t) => guessesLog10 >= t).length;
  return { score, guessesLog10, hint: weakest?.hint ?? "" };
}
