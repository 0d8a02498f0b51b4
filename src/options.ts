/**
 * The one option validator every options object goes through: unknown
 * names and wrong types are a `TypeError` naming the option and what it got,
 * values out of range a `RangeError`. No `Deno.*`, no I/O: the codec uses it
 * too.
 *
 * @module
 */

/** Checks one option's value; throws `TypeError` / `RangeError`. */
export type Rule = (value: unknown, name: string) => void;

/** The rules of one options object, by option name. */
export type Rules = Readonly<Record<string, Rule>>;

/** A short description of a value's type for error messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string": {
      const s = value.length > 32 ? `${value.slice(0, 32)}…` : value;
      return `a string (${JSON.stringify(s)})`;
    }
    case "number":
      return `the number ${value}`;
    case "bigint":
      return `a bigint (${value}n)`;
    case "boolean":
      return `the boolean ${value}`;
    case "undefined":
      return "undefined";
    case "function":
      return "a function";
    case "symbol":
      return "a symbol";
    default: {
      const ctor = (value as object).constructor?.name;
      return ctor && ctor !== "Object" ? `a ${ctor}` : "an object";
    }
  }
}

function typeError(name: string, expected: string, value: unknown): TypeError {
  return new TypeError(
    `Expected option "${name}" to be ${expected}, got ${describe(value)}`,
  );
}

/**
 * A number in `[min, max]`; `integer` refuses fractions. `NaN` and
 * infinities are refused unless `max` is `Infinity`.
 */
export function number(
  min: number,
  max = Number.MAX_SAFE_INTEGER,
  integer = false,
): Rule {
  return (v, name) => {
    if (typeof v !== "number") throw typeError(name, "a number", v);
    if (
      !(v >= min && v <= max) || (integer && !Number.isInteger(v) &&
        v !== Infinity)
    ) {
      throw new RangeError(
        `Expected option "${name}" to be ${
          integer ? "an integer" : "a number"
        } in [${min}, ${max}], got ${v}`,
      );
    }
  };
}

/** An integer in `[min, max]`. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER): Rule {
  return number(min, max, true);
}

/** A duration in milliseconds: a finite number ≥ 0. */
export const ms: Rule = number(0);

/** `true` or `false`. */
export const boolean: Rule = (v, name) => {
  if (typeof v !== "boolean") throw typeError(name, "a boolean", v);
};

/** A string. */
export const string: Rule = (v, name) => {
  if (typeof v !== "string") throw typeError(name, "a string", v);
};

/** A function. */
export const func: Rule = (v, name) => {
  if (typeof v !== "function") throw typeError(name, "a function", v);
};

/** An `AbortSignal`. */
export const signal: Rule = (v, name) => {
  if (!(v instanceof AbortSignal)) throw typeError(name, "an AbortSignal", v);
};

/** An array of strings. */
export const strings: Rule = (v, name) => {
  if (!Array.isArray(v)) throw typeError(name, "an array of strings", v);
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== "string") {
      throw typeError(`${name}[${i}]`, "a string", v[i]);
    }
  }
};

/** A `Uint8Array`. */
export const bytes: Rule = (v, name) => {
  if (!(v instanceof Uint8Array)) throw typeError(name, "a Uint8Array", v);
};

/**
 * Header fields: a record of strings, or an iterable of `[name, value]`
 * pairs (a `Headers`, a `Map`, an array). The fields themselves are checked
 * where they are encoded.
 */
export const headers: Rule = (v, name) => {
  if (v === null || typeof v !== "object") {
    throw typeError(name, "a record or an iterable of [name, value] pairs", v);
  }
};

/** Any object (its own fields are checked where it is used). */
export const object: Rule = (v, name) => {
  if (v === null || typeof v !== "object") {
    throw typeError(name, "an object", v);
  }
};

/** One of `rules` accepts the value; `expected` describes them all. */
export function oneOf(expected: string, ...rules: Rule[]): Rule {
  return (v, name) => {
    for (const rule of rules) {
      try {
        rule(v, name);
        return;
      } catch { /* try the next */ }
    }
    throw typeError(name, expected, v);
  };
}

/** A value that is exactly one of `values`. */
export function literal(...values: readonly unknown[]): Rule {
  const expected = values.map((x) => JSON.stringify(x)).join(" or ");
  return (v, name) => {
    if (!values.includes(v)) throw typeError(name, expected, v);
  };
}

/** A nested options object checked with its own `rules`. */
export function nested(rules: Rules): Rule {
  return (v, name) => check(v, rules, name);
}

/** The closest known name to `name`, for "did you mean" hints. */
function closest(name: string, known: string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined, bestD = 3;
  for (const k of known) {
    const d = k.toLowerCase() === lower ? 0 : distance(lower, k.toLowerCase());
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best;
}

/** Levenshtein distance, for short option names. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        prev[j] + 1,
        cur[j - 1] + 1,
        prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length];
}

/**
 * Checks an options object against `rules`: `undefined` passes (no
 * options); anything but an object, an unknown name, or a value a rule
 * refuses throws. Options set to `undefined` are treated as not given.
 * `where` names the options in messages (e.g. `"connect()"`).
 */
export function check(options: unknown, rules: Rules, where: string): void {
  if (options === undefined) return;
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Expected ${where} options to be an object, got ${describe(options)}`,
    );
  }
  for (const key in options) {
    if (!Object.hasOwn(options, key)) continue;
    const rule = rules[key];
    const prefix = prefixOf(where);
    if (rule === undefined || !Object.hasOwn(rules, key)) {
      const hint = closest(key, Object.keys(rules));
      throw new TypeError(
        `Expected only known ${where} options, got unknown option "${key}"${
          hint === undefined ? "" : ` (did you mean "${hint}"?)`
        }`,
      );
    }
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined) rule(value, prefix + key);
  }
}

/** What option names are prefixed with in messages: none for a call's options. */
function prefixOf(where: string): string {
  return where.endsWith(")") ? "" : `${where}.`;
}

/**
 * Throws `TypeError` unless every option in `names` is given (not
 * `undefined`): for options a call cannot do without. Run after
 * {@link check}, with the same `where`.
 */
export function required(
  options: unknown,
  names: readonly string[],
  where: string,
): void {
  const o = options as Record<string, unknown> | null | undefined;
  for (const name of names) {
    if (o?.[name] === undefined) {
      throw new TypeError(
        `Expected option "${
          prefixOf(where)
        }${name}" to be given, got undefined`,
      );
    }
  }
}

/** The entries of `options` whose names are in `rules` (to hand a subset on). */
export function pick<T extends object>(options: T, rules: Rules): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const key in rules) {
    const v = (options as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = v;
  }
  return out as Partial<T>;
}
