/**
 * Whole-number query parameters (`?limit=50`): query values arrive as strings, so the document describes them as
 * strings with a pattern that admits exactly the numbers the server takes (`1`–`max`, no sign, no leading zero), and
 * the parser turns them into numbers.
 */
import { z } from 'zod';

/**
 * A regular expression source matching the decimal numbers 1 … `max` exactly (no leading zeros), e.g.
 * `wholeNumberPattern(200)` → `^(?:[1-9]\d?|1\d{2}|200)$`.
 * @throws Error when `max` is not a whole number ≥ 1.
 */
export function wholeNumberPattern(max: number): string {
  if (!Number.isInteger(max) || max < 1) throw new Error(`wholeNumberPattern: ${max} is not a whole number ≥ 1`);
  const s = String(max);
  const alts: string[] = [];
  // Fewer digits than max: any such number.
  if (s.length > 1) alts.push(s.length === 2 ? '[1-9]' : s.length === 3 ? '[1-9]\\d?' : `[1-9]\\d{0,${s.length - 2}}`);
  for (let i = 0; i < s.length; i++) {
    const d = Number(s[i]);
    const lo = i === 0 ? 1 : 0;
    if (d > lo) {
      const rest = s.length - i - 1;
      alts.push(`${s.slice(0, i)}${d - 1 === lo ? String(lo) : `[${lo}-${d - 1}]`}${rest ? (rest === 1 ? '\\d' : `\\d{${rest}}`) : ''}`);
    }
  }
  alts.push(s);
  return `^(?:${alts.join('|')})$`;
}

/** An optional query parameter holding a whole number 1 … `max` (parsed to a number); `message` when it is not. */
export function wholeNumberQuery(max: number, message = `must be a whole number between 1 and ${max}`) {
  return z
    .string()
    .regex(new RegExp(wholeNumberPattern(max)), message)
    .transform(Number)
    .optional();
}
