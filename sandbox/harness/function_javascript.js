"use strict";
// KodeWar function-mode wrapper: node function_javascript.js SOURCE [NAME].
//
// Runs inside the sandbox as the user's program. stdin holds the call's argument list as a JS
// expression list ("2", "1, [2, 3]", ""); the function's (awaited) return value goes to stdout as
// one line of JSON. The user's console.log and process.stdout.write go to stderr so they cannot
// forge the result. Node built-ins only.

const fs = require("fs");
const path = require("path");
const vm = require("vm");
const { createRequire } = require("module");

const BIGINT_MARK = "\u0000kodewar-bigint:";
const BIGINT_MARK_JSON = /"\\u0000kodewar-bigint:(-?\d+)"/g;

function toJSON(value) {
  const text = JSON.stringify(value, (key, v) => {
    if (typeof v === "bigint") return BIGINT_MARK + v.toString();
    if (v instanceof Set) return Array.from(v);
    if (v instanceof Map) return Object.fromEntries(v);
    return v;
  });
  // undefined, functions and symbols have no JSON form; BigInts are written as plain integers.
  return text === undefined ? "null" : text.replace(BIGINT_MARK_JSON, "$1");
}

function loadFunction(file, name) {
  let src = fs.readFileSync(file, "utf8");
  if (src.startsWith("#!")) src = "//" + src; // a hashbang is only legal at the start of a script
  const userModule = { exports: {} };
  const exports = userModule.exports;
  const userConsole = new console.Console({ stdout: process.stderr, stderr: process.stderr });
  const body = `${src}\n;return typeof ${name} === "function" ? ${name} : undefined;`;
  const params = ["require", "module", "exports", "console", "__filename", "__dirname"];
  const run = vm.compileFunction(body, params, { filename: file });
  const declared = run(createRequire(file), userModule, exports, userConsole, file, path.dirname(file));
  const candidates = [declared, userModule.exports && userModule.exports[name], exports[name], userModule.exports];
  return candidates.find((f) => typeof f === "function");
}

async function main() {
  const [source, name = "solution"] = process.argv.slice(2);
  if (!source || !/^[A-Za-z_$][\w$]*$/.test(name)) {
    throw new Error("usage: function_javascript.js SOURCE [NAME]");
  }
  const input = fs.readFileSync(0, "utf8");
  const args = input.trim() === "" ? [] : new Function(`return [\n${input}\n];`)();

  const writeResult = process.stdout.write.bind(process.stdout);
  process.stdout.write = process.stderr.write.bind(process.stderr);

  const fn = loadFunction(path.resolve(source), name);
  if (!fn) {
    process.stderr.write(`function mode: ${source} defines no function '${name}'\n`);
    process.exitCode = 1;
    return;
  }
  const result = await fn(...args);
  writeResult(toJSON(result) + "\n");
  done = true;
  process.exit(0); // a timer the user left running must not hold the run until the wall limit
}

let done = false;
process.on("exit", (code) => {
  if (!done && !code) {
    process.stderr.write("function mode: the returned promise never settled\n");
    process.exitCode = 1;
  }
});
main().catch((err) => {
  done = true;
  process.stderr.write((err && err.stack ? err.stack : `Uncaught ${String(err)}`) + "\n");
  process.exit(1);
});
