/**
 * A count with its noun in the right number: "1 service", "2 services", "0 services"; Dutch the
 * same way ("1 dag", "2 dagen"). English and Dutch both take the singular for exactly one only.
 */
export const plural = (n: number | bigint, one: string, many: string): string =>
  n === 1 || n === 1n ? one : many;

export const counted = (n: number | bigint, one: string, many: string): string =>
  `${n} ${plural(n, one, many)}`;
