// Reporting: every check is one output line; the last line is the summary tools/test/run-all.mjs reads.

/** JSON equality of two plain values (commands, lists). */
export const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
/** A value as it appears in a message. */
export const show = (v) => JSON.stringify(v);

/**
 * Creates the report the checks write to: `check` counts and prints one check (`ok` / `FAIL`),
 * `note` and `section` print information, `finish` prints the summary and exits (1 on any problem).
 */
export function createReport(log = (line) => console.log(line)) {
  let checks = 0;
  const problems = [];
  function check(ok, what, why = '') {
    checks++;
    if (ok) log(`ok    ${what}`);
    else {
      problems.push(`${what}${why ? `: ${why}` : ''}`);
      log(`FAIL  ${what}${why ? `: ${why}` : ''}`);
    }
    return ok;
  }
  const note = (m) => log(`--    ${m}`);
  const section = (m) => log(`\n== ${m}`);
  function summary() {
    return `${checks} checks, ${problems.length} problem${problems.length === 1 ? '' : 's'}`;
  }
  function finish() {
    log(`\n${summary()}`);
    for (const p of problems) log(`  - ${p}`);
    process.exit(problems.length ? 1 : 0);
  }
  return {
    check,
    note,
    section,
    summary,
    finish,
    get checks() {
      return checks;
    },
    get problems() {
      return [...problems];
    },
  };
}
