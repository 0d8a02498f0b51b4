/**
 * `HeaderList`: header fields in arrival order with case-insensitive lookup.
 *
 * @module
 */

/**
 * Header fields of a response, in arrival order, with case-insensitive
 * lookup. Names are stored lower-cased.
 *
 * @example
 * ```ts
 * import { HeaderList } from "@x/nexus-ws/codec";
 * const h = new HeaderList();
 * h.append("Content-Type", "text/plain");
 * console.assert(h.get("content-type") === "text/plain");
 * ```
 */
export class HeaderList implements Iterable<[string, string]> {
  #names: string[] = [];
  #values: string[] = [];

  /** Adds a field (name lower-cased). */
  append(name: string, value: string): void {
    this.#names.push(name.toLowerCase());
    this.#values.push(value);
  }
  /** The value of `name`; several fields are joined with `", "`; `null` when absent. */
  get(name: string): string | null {
    const key = name.toLowerCase();
    let out: string | null = null;
    for (let i = 0; i < this.#names.length; i++) {
      if (this.#names[i] === key) {
        out = out === null ? this.#values[i] : `${out}, ${this.#values[i]}`;
      }
    }
    return out;
  }
  /** Every value of `name`, one per field. */
  getAll(name: string): string[] {
    const key = name.toLowerCase();
    const out: string[] = [];
    for (let i = 0; i < this.#names.length; i++) {
      if (this.#names[i] === key) out.push(this.#values[i]);
    }
    return out;
  }
  /** Whether a field named `name` is present. */
  has(name: string): boolean {
    return this.#names.includes(name.toLowerCase());
  }
  /** Number of fields. */
  get size(): number {
    return this.#names.length;
  }
  /** The lower-cased name of field `i` (0-based, arrival order). */
  nameAt(i: number): string {
    return this.#names[i];
  }
  /** The value of field `i` (0-based, arrival order). */
  valueAt(i: number): string {
    return this.#values[i];
  }
  /** `[name, value]` pairs in arrival order. */
  *[Symbol.iterator](): Iterator<[string, string]> {
    for (let i = 0; i < this.#names.length; i++) {
      yield [this.#names[i], this.#values[i]];
    }
  }
  /** A `Map` of lower-case name to (joined) value. */
  toMap(): Map<string, string> {
    const m = new Map<string, string>();
    for (const [k, v] of this) m.set(k, m.has(k) ? `${m.get(k)}, ${v}` : v);
    return m;
  }
}
