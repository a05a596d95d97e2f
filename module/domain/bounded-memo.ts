/**
 * A pure function's answers kept by key, at most `max` of them (all let go at once when full: the
 * keys a hot path repeats come back at once). For work that costs more than a map lookup: Intl
 * formatters, settings checked by zod, a zone's business-day arithmetic.
 */
export function boundedMemo<V>(max: number): (key: string, make: () => V) => V {
  const kept = new Map<string, V>();
  return (key, make) => {
    const known = kept.get(key);
    if (known !== undefined || kept.has(key)) return known as V;
    const made = make();
    if (kept.size >= max) kept.clear();
    kept.set(key, made);
    return made;
  };
}
