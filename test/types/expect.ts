// Compile-time assertions for the files in test/types, which `npm run typecheck` checks
// (tsconfig.json includes test/) and nothing runs. `Expect<Equal<A, B>>` fails to compile
// unless A and B are the same type, in both directions and without `any` slipping through.
export type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
export type Expect<T extends true> = T;
/** True when A is assignable to B. */
export type Extends<A, B> = [A] extends [B] ? true : false;
