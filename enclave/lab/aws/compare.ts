/** The comparison operators filter patterns and Insights share, applied to two values of the same kind. */
export const COMPARISON_OPERATORS = ["=", "!=", ">=", "<=", ">", "<"] as const;
export type ComparisonOperator = (typeof COMPARISON_OPERATORS)[number];

export function isComparisonOperator(op: string): op is ComparisonOperator {
  return (COMPARISON_OPERATORS as readonly string[]).includes(op);
}

export function compareWith<T extends number | string>(op: ComparisonOperator, a: T, b: T): boolean {
  switch (op) {
    case "=":
      return a === b;
    case "!=":
      return a !== b;
    case ">":
      return a > b;
    case "<":
      return a < b;
    case ">=":
      return a >= b;
    case "<=":
      return a <= b;
  }
}
