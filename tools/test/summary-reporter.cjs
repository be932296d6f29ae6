// Jest reporter: appends this project's totals to tmp/test-results so `npm test` can print one summary.
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

class SummaryReporter {
  constructor(globalConfig, _options, context) {
    this.globalConfig = globalConfig;
    this.context = context;
  }
  onRunComplete(_contexts, results) {
    const dir = process.env.INGEST_TEST_RESULTS_DIR;
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    const name = (this.globalConfig.rootDir || 'project').replace(/[^a-zA-Z0-9]+/g, '_').slice(-80);
    writeFileSync(
      join(dir, `${name}.json`),
      JSON.stringify({
        rootDir: this.globalConfig.rootDir,
        passed: results.numPassedTests,
        failed: results.numFailedTests,
        skipped: results.numPendingTests + results.numTodoTests,
        suitesFailed: results.numFailedTestSuites,
        runtimeError: results.numRuntimeErrorTestSuites,
      }),
    );
  }
}
module.exports = SummaryReporter;
