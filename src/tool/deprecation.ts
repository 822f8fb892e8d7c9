/** A deprecation notice: the tool still works, but callers should move on. */
export interface Deprecation {
  /** The version (or ISO date) since which the tool is deprecated. */
  readonly since: string;
  /** The tool to call instead, if any. */
  readonly useInstead?: string;
  /** ISO date (YYYY-MM-DD) after which the tool may be removed. */
  readonly removeAfter?: string;
}
