/** Message ids the simulated engine has reported, remembered to drop re-delivered pushes (delivery is at-least-once). */

/** How many ids are remembered (the oldest are forgotten first). */
const SEEN_IDS_MAX = 10_000;

/** A bounded set of message ids, oldest evicted first. */
export class SeenIds {
  readonly #ids = new Set<string>();

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  /** Remembers `id`, forgetting the oldest id beyond {@link SEEN_IDS_MAX}. */
  add(id: string): void {
    this.#ids.add(id);
    if (this.#ids.size > SEEN_IDS_MAX) {
      const oldest = this.#ids.values().next().value;
      if (oldest !== undefined) this.#ids.delete(oldest);
    }
  }
}
