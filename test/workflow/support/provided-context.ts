/** What the workflow project's global setup hands to every test file. */
declare module 'vitest' {
  export interface ProvidedContext {
    /** The time-skipping test server executable. */
    testServerPath: string;
    /** test/workflow/fixtures/lifecycle.ts bundled: the lifecycle over the released templates plus the tests' own. */
    lifecycleBundlePath: string;
  }
}
export {};
