// reporter.mjs -- a node --test reporter that prints one line per failed test
// SPDX-License-Identifier: MIT
//
// lab/run.sh wants the first assertion that failed, in one line: every
// failed test prints "FAIL <test name>: <the error's first line>", in the
// order the failures happened, and passing tests print nothing. (A
// subtest's failure comes before its parent's "subtests failed".)

function firstLine(err) {
  let e = err;
  // node:test wraps what a test threw; the cause is the assertion.
  while (e && e.code === 'ERR_TEST_FAILURE' && e.cause) e = e.cause;
  const text = e && e.message ? e.message : String(e);
  return text.split('\n').map((l) => l.trim()).filter(Boolean)[0] || text;
}

export default async function* reporter(source) {
  for await (const event of source) {
    if (event.type === 'test:fail') {
      const { name, details } = event.data;
      yield `FAIL ${name}: ${firstLine(details && details.error)}\n`;
    } else if (event.type === 'test:diagnostic' && /^(fail|cancelled) [1-9]/.test(event.data.message)) {
      yield `# ${event.data.message}\n`;
    }
  }
}
