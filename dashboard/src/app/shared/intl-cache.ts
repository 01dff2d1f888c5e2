/**
 * One `Intl` formatter per language and options, made once and reused: the pages format in their templates, so the
 * same formatter is asked for on every change detection, and making one costs far more than using it. The first
 * formatter of a page also pays the browser's one-time ICU set-up (tens of ms of main thread on a phone), which
 * {@link prepareFormatters} moves into tasks of its own while the page's data is on its way (issue 18, Lighthouse).
 */
const cache = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat | Intl.RelativeTimeFormat>();

function cached<T extends Intl.NumberFormat | Intl.DateTimeFormat | Intl.RelativeTimeFormat>(key: string, make: () => T): T {
  let f = cache.get(key) as T | undefined;
  if (!f) {
    f = make();
    cache.set(key, f);
  }
  return f;
}

/** `new Intl.NumberFormat(locale, options)`, cached; throws what it throws (e.g. RangeError for a bad currency). */
export function numberFormat(locale: string, options: Intl.NumberFormatOptions = {}): Intl.NumberFormat {
  return cached(`n|${locale}|${JSON.stringify(options)}`, () => new Intl.NumberFormat(locale, options));
}

/** `new Intl.DateTimeFormat(locale, options)`, cached; throws RangeError for an unknown time zone. */
export function dateTimeFormat(locale: string, options: Intl.DateTimeFormatOptions = {}): Intl.DateTimeFormat {
  return cached(`d|${locale}|${JSON.stringify(options)}`, () => new Intl.DateTimeFormat(locale, options));
}

/** `new Intl.RelativeTimeFormat(locale, options)`, cached. */
export function relativeTimeFormat(locale: string, options: Intl.RelativeTimeFormatOptions = {}): Intl.RelativeTimeFormat {
  return cached(`r|${locale}|${JSON.stringify(options)}`, () => new Intl.RelativeTimeFormat(locale, options));
}

/**
 * Makes the given formatters ahead of use, one per task (`setTimeout`), so that their set-up runs while the main
 * thread waits for the network rather than inside the render of the answer. Failures are ignored (the formatting
 * functions handle them when they run).
 */
export function prepareFormatters(makers: ReadonlyArray<() => unknown>): void {
  for (const make of makers)
    setTimeout(() => {
      try {
        make();
      } catch {
        /* reported by the formatter's user */
      }
    }, 0);
}
